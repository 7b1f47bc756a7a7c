// MetricsWriter: one JSON object per training step appended to output_dir/metrics.jsonl, and a
// one-line progress display when stderr is a terminal.
// Owns the file; not thread-safe (the training loop writes from one thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gspo::runner {

// Ordered name -> value pairs: the order is the order of the JSON keys.
using StepMetrics = std::vector<std::pair<std::string, double>>;

class MetricsWriter {
 public:
  // Appends to `path` (created if missing); `total_steps` sizes the progress bar.
  static common::StatusOr<std::unique_ptr<MetricsWriter>> Open(const std::string& path,
                                                               std::int64_t total_steps,
                                                               bool progress);
  ~MetricsWriter();

  // Writes {"step": step, <metrics...>} as one line and flushes it to disk.
  common::Status Write(std::int64_t step, const StepMetrics& metrics);
  // Redraws the progress line (no-op when not on a terminal).
  void Progress(std::int64_t step, const StepMetrics& metrics);

  static std::string FormatLine(std::int64_t step, const StepMetrics& metrics);

 private:
  MetricsWriter(std::FILE* file, std::string path, std::int64_t total, bool progress)
      : file_(file), path_(std::move(path)), total_(total), progress_(progress) {}

  std::FILE* file_;
  std::string path_;
  std::int64_t total_;
  bool progress_;
};

}  // namespace gspo::runner
