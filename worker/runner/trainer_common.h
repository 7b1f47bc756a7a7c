// What the trainers share: the engine's LoRA and learner settings from the training options,
// and the exports written to output_dir/final/ when a run ends.
// Stateless functions; not thread-safe with respect to the model they read.
#pragma once

#include "common/status.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/runner/train_options.h"

namespace gspo::runner {

engine::LoraConfig LoraConfigOf(const TrainOptions& options);
// The learner's settings (gspo and training sections).
engine::LearnerConfig LearnerConfigOf(const TrainOptions& options);

// output_dir/final/ as `options.exports` asks: "adapter" (PEFT layout, when there are adapters)
// and "merged" (the adapters folded into the base weights, or the model as it is without them).
common::Status ExportFinal(const TrainOptions& options, const engine::DecoderModel& model,
                           const engine::LoraAdapters* adapters);

}  // namespace gspo::runner
