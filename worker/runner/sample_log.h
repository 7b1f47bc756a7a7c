// SampleLog: output_dir/samples.jsonl, one conversation of each logged step as text, so that
// what the policy says (and what the simulated user answers) can be read while it trains:
//   {"step": 3, "scenario": "cs-late-order", "reward": 0.61,
//    "messages": [{"role": "system", "content": "..."}, {"role": "user", ...}, ...]}
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

struct SampleTurn {
  std::string role;  // system | user | assistant
  std::string content;
};

class SampleLog {
 public:
  // Appends to `path` (created if missing).
  static common::StatusOr<std::unique_ptr<SampleLog>> Open(const std::string& path);
  ~SampleLog();

  // One line, flushed.
  common::Status Write(std::int64_t step, const std::string& scenario_id, double reward,
                       const std::vector<SampleTurn>& turns);

  static std::string FormatLine(std::int64_t step, const std::string& scenario_id, double reward,
                                const std::vector<SampleTurn>& turns);

 private:
  SampleLog(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}

  std::FILE* file_;
  std::string path_;
};

}  // namespace gspo::runner
