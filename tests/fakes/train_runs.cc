#include "tests/fakes/train_runs.h"

#include <cmath>
#include <regex>

#include "tests/fakes/json_lines.h"

namespace gspo::testing {

std::string TinyJobArgs(const std::string& out, int steps) {
  return "examples/jobs/tiny-cpu.yaml --no-progress --set output.output_dir=" + out +
         " --set training.num_outer_iterations=" + std::to_string(steps) +
         " --set training.prompts_per_step=4 --set gspo.num_generations=2 --set gspo.minibatches=2"
         " --set training.per_device_train_batch_size=2 --set generation.max_completion_length=12"
         " --set output.save_steps=2 --set output.export=[adapter]";
}

CommandResult RunInSourceTree(const std::string& command) {
  return RunShellCommand("cd '" GSPO_SOURCE_DIR "' || exit 1; (" + command + ") 2>&1");
}

std::string CpuGspo() { return "CUDA_VISIBLE_DEVICES= '" GSPO_BINARY_DIR "/bin/gspo'"; }

std::vector<common::Json> MetricsRows(const std::string& out) {
  auto rows = ReadJsonLines(out + "/metrics.jsonl");
  return rows.ok() ? *rows : std::vector<common::Json>{};
}

double MetricValue(const common::Json& row, const char* key) {
  const common::Json* v = row.Find(key);
  return v == nullptr || !v->is_number() ? std::nan("") : v->AsDouble();
}

double ReportedElapsed(const std::string& output) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex("elapsed=([0-9.]+)"))) return 1e9;
  return std::stod(m[1]);
}

}  // namespace gspo::testing
