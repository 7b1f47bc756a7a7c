// `gspo bench-model`: times the engine's prefill and decode on a model directory and prints one
// JSON object. Benchmarks live in bench/ (scripts that compare against a peer in the same run);
// this command is the engine's half of them.
//   bench-model --model DIR [--device cpu|cuda] [--dtype bfloat16|float32] [--reps N]
//               [--prefill-batch B --prefill-len T] [--decode-batch B --decode-prompt T
//               --decode-steps N]
#pragma once

#include <string>
#include <vector>

namespace gspo::tools {

int RunBenchModel(const std::vector<std::string>& args);

}  // namespace gspo::tools
