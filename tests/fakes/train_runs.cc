#include "tests/fakes/train_runs.h"

#include <cmath>

#include "tests/fakes/json_lines.h"

namespace gspo::testing {

std::string TinyJobArgs(const std::string& out, int steps) {
  return "examples/jobs/tiny-cpu.yaml --no-progress --set output.output_dir=" + out +
         " --set training.num_outer_iterations=" + std::to_string(steps) +
         " --set training.prompts_per_step=4 --set gspo.num_generations=2 --set gspo.minibatches=2"
         " --set training.per_device_train_batch_size=2 --set generation.max_completion_length=12"
         " --set output.save_steps=2 --set output.export=[adapter]";
}

CommandResult RunInDirectory(const std::string& directory, const std::string& command) {
  return RunShellCommand("cd '" + directory + "' || exit 1; (" + command + ") 2>&1");
}

std::vector<common::Json> MetricsRows(const std::string& out) {
  auto rows = ReadJsonLines(out + "/metrics.jsonl");
  return rows.ok() ? *rows : std::vector<common::Json>{};
}

double MetricValue(const common::Json& row, const char* key) {
  const common::Json* v = row.Find(key);
  return v == nullptr || !v->is_number() ? std::nan("") : v->AsDouble();
}

}  // namespace gspo::testing
