// What the engine benchmarks share (bench_command.cc, bench_step_command.cc): models with random
// weights of a config's shape, --quantize, device syncs and the JSON lists they print.
// Stateless; each call independent.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "common/status.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/sampler/rollout_engine.h"
#include "worker/tools/flags.h"
#include "worker/tools/model_commands.h"

namespace gspo::tools {

// Waits for the device: copying a scalar to the host waits for the stream's earlier work.
void Sync(const at::Tensor& t);
double Median(std::vector<double> v);
std::string JsonList(const std::vector<double>& v);

// --quantize none|nf4|nf4-dq|int8: the base weights as `use_4bit` / `use_8bit` jobs load them.
common::Status QuantizeFromFlag(const std::string& command, const std::string& quantize, engine::DecoderModel* model);

// A model of config.json's shape with random weights made on the device (normal, std 0.02;
// norms near their identity), so no checkpoint of billions of parameters is written or read.
common::StatusOr<std::unique_ptr<engine::DecoderModel>> RandomModel(const std::string& config_path,
                                                                    at::ScalarType dtype, at::Device device);

// --random-config config.json (random weights on --device) or --model DIR.
common::StatusOr<LoadedModel> LoadBenchModel(const Flags& flags);

// --lora-r R (given) and --lora-targets (default q/k/v/o): alpha 2R, as the peer baseline.
engine::LoraConfig LoraFromFlags(const Flags& flags, std::int64_t r);

// The peer baseline's rollout setting from parsed flags (--reps, --prompts, --samples,
// --prompt-len, --new-tokens, --temperature, --top-p, --lora-r); every size >= 1.
struct RolloutSetting {
  std::int64_t reps, prompts, samples, prompt_len, new_tokens, lora_r;
  double temperature, top_p;
};
common::StatusOr<RolloutSetting> ParseRolloutSetting(const std::string& command, const Flags& flags);

// P random prompts of prompt_len ids in [3, vocab) drawn after at::manual_seed(seed), G samples
// each, exactly new_tokens per row (no stop ids); the prompt ids in `prompt_ids` [P,T] if given.
engine::RolloutRequest RandomPromptsRequest(const RolloutSetting& setting, std::int64_t vocab, std::uint64_t seed,
                                            at::Tensor* prompt_ids = nullptr);

}  // namespace gspo::tools
