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
  // Only the metrics the run has: a supervised run (algorithm: sft) has no reward or clip.
  std::string values;
  const std::pair<const char*, const char*> shown[] = {
      {"reward_mean", "  reward %.3f"}, {"loss", "  loss %.4f"}, {"clip_fraction", "  clip %.3f"},
      {"tokens_per_second", "  %.0f tok/s"}};
  for (const auto& [name, format] : shown) {
    const double value = Find(metrics, name);
    if (std::isnan(value)) continue;
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), format, value);
    values += buffer;
  }
  std::fprintf(stderr, "\r[%-*s] step %lld/%lld%s ", kWidth, std::string(filled, '#').c_str(),
               static_cast<long long>(step), static_cast<long long>(total_), values.c_str());
  std::fflush(stderr);
}

}  // namespace gspo::runner
