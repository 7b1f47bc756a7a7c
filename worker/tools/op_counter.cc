#include "worker/tools/op_counter.h"

#include <algorithm>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include <ATen/record_function.h>

namespace gspo::tools {
namespace {

// The process's counts: the callback is global, so its state is too (OpCounter allows one at a
// time).
struct Counts {
  std::mutex mutex;
  std::int64_t operators = 0;
  std::int64_t top_level = 0;
  std::map<std::string, std::int64_t> by_name;  // top-level calls only
};
Counts& TheCounts() {
  static Counts counts;
  return counts;
}

thread_local int depth = 0;  // operators open on this thread

std::unique_ptr<at::ObserverContext> OnEnter(const at::RecordFunction& fn) {
  Counts& counts = TheCounts();
  const bool top = depth++ == 0;
  std::lock_guard<std::mutex> lock(counts.mutex);
  ++counts.operators;
  if (top) {
    ++counts.top_level;
    ++counts.by_name[fn.name()];
  }
  return nullptr;
}

void OnExit(const at::RecordFunction&, at::ObserverContext*) { --depth; }

std::string Escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

}  // namespace

OpCounter::~OpCounter() { Stop(); }

common::Status OpCounter::Start() {
  if (running_) return common::FailedPreconditionError("an operator count is already running");
  Counts& counts = TheCounts();
  {
    std::lock_guard<std::mutex> lock(counts.mutex);
    counts.operators = counts.top_level = 0;
    counts.by_name.clear();
  }
  // Operator calls only (not the profiler's user scopes), no inputs recorded.
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(OnEnter, OnExit).scopes({at::RecordScope::FUNCTION}));
  running_ = true;
  return common::Status::Ok();
}

void OpCounter::Stop() {
  if (!running_) return;
  at::removeCallback(handle_);
  running_ = false;
}

std::string OpCounter::ToJson(int limit) const {
  Counts& counts = TheCounts();
  std::lock_guard<std::mutex> lock(counts.mutex);
  std::vector<std::pair<std::string, std::int64_t>> names(counts.by_name.begin(), counts.by_name.end());
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::ostringstream out;
  out << "{\"operators\": " << counts.operators << ", \"top_level\": " << counts.top_level << ", \"top\": [";
  for (std::size_t i = 0; i < names.size() && static_cast<int>(i) < limit; ++i) {
    out << (i ? ", " : "") << "[\"" << Escaped(names[i].first) << "\", " << names[i].second << "]";
  }
  out << "]}";
  return out.str();
}

}  // namespace gspo::tools
