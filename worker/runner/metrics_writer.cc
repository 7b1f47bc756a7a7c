#include "worker/runner/metrics_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "common/files.h"
#include "common/json.h"

namespace gspo::runner {
namespace {

double Find(const StepMetrics& metrics, const std::string& name) {
  for (const auto& [key, value] : metrics) {
    if (key == name) return value;
  }
  return std::nan("");
}

}  // namespace

common::StatusOr<std::unique_ptr<MetricsWriter>> MetricsWriter::Open(const std::string& path,
                                                                     std::int64_t total_steps,
                                                                     bool progress) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return common::ErrnoToStatus(errno, path + ": cannot open for appending");
  }
  return std::unique_ptr<MetricsWriter>(
      new MetricsWriter(file, path, total_steps, progress && ::isatty(STDERR_FILENO)));
}

MetricsWriter::~MetricsWriter() {
  if (progress_) std::fputc('\n', stderr);
  std::fclose(file_);
}

std::string MetricsWriter::FormatLine(std::int64_t step, const StepMetrics& metrics) {
  std::vector<common::Json::Member> members;
  members.emplace_back("step", common::Json::Integer(step));
  for (const auto& [name, value] : metrics) {
    // JSON has no NaN or infinity: write null rather than an unreadable line.
    members.emplace_back(name, std::isfinite(value) ? common::Json::Number(value) : common::Json::Null());
  }
  return common::WriteJson(common::Json::Object(std::move(members)));
}

common::Status MetricsWriter::Write(std::int64_t step, const StepMetrics& metrics) {
  const std::string line = FormatLine(step, metrics) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return common::ErrnoToStatus(errno, path_ + ": cannot write metrics");
  }
  ::fsync(::fileno(file_));
  return common::Status::Ok();
}

void MetricsWriter::Progress(std::int64_t step, const StepMetrics& metrics) {
  if (!progress_) return;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * step / total_) : 0;
  std::fprintf(stderr, "\r[%-*s] step %lld/%lld  reward %.3f  loss %.4f  clip %.3f  %.0f tok/s ",
               kWidth, std::string(filled, '#').c_str(), static_cast<long long>(step),
               static_cast<long long>(total_), Find(metrics, "reward_mean"), Find(metrics, "loss"),
               Find(metrics, "clip_fraction"), Find(metrics, "tokens_per_second"));
  std::fflush(stderr);
}

}  // namespace gspo::runner
