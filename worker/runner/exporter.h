// Export of a trained adapter: the PEFT layout (adapter_config.json + adapter_model.safetensors)
// and a merged full Hugging Face checkpoint (config.json, the weights with the adapters folded
// in, and the base model's tokenizer and generation files), loadable by transformers'
// AutoModelForCausalLM and vLLM. Weights larger than one shard are written as Hugging Face
// does: model-00001-of-0000N.safetensors ... plus model.safetensors.index.json.
// Stateless functions; not thread-safe with respect to the model they read.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"

namespace gspo::runner {

// transformers' default max_shard_size ("5GB").
inline constexpr std::int64_t kDefaultMaxShardBytes = 5'000'000'000;

// Writes OUT/ as a full checkpoint of `model` with `adapters` merged; files other than weights
// (config.json, tokenizer files, generation_config.json) are copied from `base_dir`. Tensors go
// to shards of at most `max_shard_bytes` (a larger tensor gets a shard of its own), one shard
// in host memory at a time; weight files of an earlier export in OUT/ are replaced.
common::Status ExportMerged(const engine::DecoderModel& model, const engine::LoraAdapters& adapters,
                            const std::string& base_dir, const std::string& out_dir,
                            std::int64_t max_shard_bytes = kDefaultMaxShardBytes);

// Writes OUT/ as a full checkpoint of `model` as it is (fully fine-tuned weights), sharded and
// with the other files copied from `base_dir` like ExportMerged.
common::Status ExportModel(const engine::DecoderModel& model, const std::string& base_dir,
                           const std::string& out_dir, std::int64_t max_shard_bytes = kDefaultMaxShardBytes);

// The adapter directory of `dir`: DIR/adapter for a checkpoint (checkpoints/step-N), DIR itself
// for a PEFT adapter directory (final/adapter). kNotFound names what is missing.
common::StatusOr<std::string> FindAdapterDirectory(const std::string& dir);

// adapter_config.json of a PEFT adapter directory: r, lora_alpha, target_modules, use_rslora,
// and base_model_name_or_path into `base_model`.
common::StatusOr<engine::LoraConfig> ReadPeftConfig(const std::string& adapter_dir, std::string* base_model);

// Loads adapter_model.safetensors ("base_model.model.<name>" keys) into `adapters`.
common::Status LoadPeftWeights(const std::string& adapter_dir, engine::LoraAdapters* adapters);

// Copies a PEFT adapter directory (adapter_config.json + adapter_model.safetensors) to OUT/.
common::Status ExportAdapter(const std::string& adapter_dir, const std::string& out_dir);

}  // namespace gspo::runner
