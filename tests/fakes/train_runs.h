// Helpers of the tests that run `gspo train` as processes on examples/jobs/tiny-cpu.yaml (CPU
// ranks, GPU ranks, disaggregated ranks). Stateless; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "tests/fakes/run_command.h"

namespace gspo::testing {

// The tiny job's `gspo train` arguments: `steps` steps of 4 groups x 2 samples in 2 minibatches
// of micro-batch 2, 12 new tokens, checkpoints every 2 steps, the adapter exported, into `out`.
std::string TinyJobArgs(const std::string& out, int steps = 3);

// Runs `command` with the shell in `directory`, stdout and stderr together.
CommandResult RunInDirectory(const std::string& directory, const std::string& command);

// The rows of `out`/metrics.jsonl; empty when it cannot be read.
std::vector<common::Json> MetricsRows(const std::string& out);

// The number under `key` in a metrics row; NaN when absent (so any comparison with it fails).
double MetricValue(const common::Json& row, const char* key);

}  // namespace gspo::testing
