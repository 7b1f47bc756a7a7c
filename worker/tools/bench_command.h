// `gspo bench-model` and `gspo bench-rollout`: the engine's half of the benchmarks in bench/
// (scripts that compare against a peer in the same run); each prints JSON.
//   bench-model --model DIR [--device cpu|cuda] [--dtype bfloat16|float32] [--reps N]
//               [--prefill-batch B --prefill-len T] [--decode-batch B --decode-prompt T
//               --decode-steps N]
//     prefill and decode timings of the bare model, one JSON object
//   bench-rollout (--model DIR | --random-config config.json) [--device D] [--dtype T]
//               [--reps N] [--prompts P --samples G --prompt-len T --new-tokens N]
//               [--temperature X --top-p X] [--lora-r R --lora-targets q_proj,...]
//     RolloutEngine::Generate on random prompts, exactly N tokens per row; one JSON object per
//     configuration (base / LoRA x CUDA graphs on / off)
//   bench-learner (--model DIR | --random-config config.json) [--device D] [--dtype T] [--reps N]
//               [--sequences N --prompt-len T --completion-len T --micro-batch M]
//               [--lora-r R --lora-targets q_proj,...] [--gradient-checkpointing]
//               [--optimizer-offload] [--quantize none|nf4|nf4-dq|int8]
//     one GSPO learning phase (PolicyLearner::Learn) on random sequences; tokens/s and peak memory
//   bench-step (--model DIR | --random-config config.json) [--device D] [--dtype T] [--reps N]
//               [--prompts P --samples G --prompt-len T --new-tokens N] [--temperature X --top-p X]
//               [--lora-r R --lora-targets ...] [--micro-batch M] [--gradient-checkpointing]
//               [--quantize none|nf4|nf4-dq|int8]
//     whole GSPO steps (rollout, rewards, learning) as the peer times them; one JSON object
#pragma once

#include <string>
#include <vector>

namespace gspo::tools {

int RunBenchModel(const std::vector<std::string>& args);
int RunBenchRollout(const std::vector<std::string>& args);
int RunBenchLearner(const std::vector<std::string>& args);
// bench_step_command.cc
int RunBenchStep(const std::vector<std::string>& args);
// bench_decode_step_command.cc: each piece of the fused decode step, timed on the GPU.
int RunBenchDecodeStep(const std::vector<std::string>& args);

}  // namespace gspo::tools
