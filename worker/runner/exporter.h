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

// Copies a checkpoint's adapter directory to OUT/ (PEFT layout).
common::Status ExportAdapter(const std::string& checkpoint_dir, const std::string& out_dir);

}  // namespace gspo::runner
