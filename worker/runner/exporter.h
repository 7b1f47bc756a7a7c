// Export of a trained adapter: the PEFT layout (adapter_config.json + adapter_model.safetensors)
// and a merged full Hugging Face checkpoint (config.json, model.safetensors with the adapters
// folded into the base weights, and the base model's tokenizer and generation files), loadable
// by transformers' AutoModelForCausalLM and vLLM.
// Stateless functions; not thread-safe with respect to the model they read.
#pragma once

#include <string>

#include "common/status.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"

namespace gspo::runner {

// Writes OUT/ as a full checkpoint of `model` with `adapters` merged; files other than weights
// (config.json, tokenizer files, generation_config.json) are copied from `base_dir`.
common::Status ExportMerged(const engine::DecoderModel& model, const engine::LoraAdapters& adapters,
                            const std::string& base_dir, const std::string& out_dir);

// Writes OUT/ as a full checkpoint of `model` as it is (fully fine-tuned weights), with the
// other files copied from `base_dir` like ExportMerged.
common::Status ExportModel(const engine::DecoderModel& model, const std::string& base_dir,
                           const std::string& out_dir);

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
