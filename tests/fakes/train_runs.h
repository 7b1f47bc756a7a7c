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

// Runs `command` with the shell in the source tree (where examples/ lives), stdout and stderr
// together.
CommandResult RunInSourceTree(const std::string& command);

// The built `gspo`, quoted for the shell, with no GPU visible: CPU (Gloo) ranks, also on a GPU
// host.
std::string CpuGspo();

// The rows of `out`/metrics.jsonl; empty when it cannot be read.
std::vector<common::Json> MetricsRows(const std::string& out);

// The number under `key` in a metrics row; NaN when absent (so any comparison with it fails).
double MetricValue(const common::Json& row, const char* key);

// The seconds a test's shell script printed as "elapsed=S" (e.g. from a kill to the launcher's
// exit); 1e9 when it printed none, so any bound on it fails.
double ReportedElapsed(const std::string& output);

}  // namespace gspo::testing
