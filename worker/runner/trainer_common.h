// What the trainers share: the engine's LoRA and learner settings from the training options,
// and the exports written to output_dir/final/ when a run ends.
// Stateless functions; not thread-safe with respect to the model they read.
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/runner/checkpoint_manager.h"
#include "worker/runner/metrics_writer.h"
#include "worker/runner/sample_log.h"
#include "worker/runner/tensorboard_writer.h"
#include "worker/runner/train_options.h"

namespace gspo::runner {

engine::LoraConfig LoraConfigOf(const TrainOptions& options);
// The learner's settings (gspo and training sections).
engine::LearnerConfig LearnerConfigOf(const TrainOptions& options);

// Loads options.resume_from_checkpoint ("latest" or a directory; "" resumes nothing) into the
// adapters and optimizer; returns the first step to run (0 without resuming).
common::StatusOr<std::int64_t> ResumeIfAsked(const TrainOptions& options,
                                             const CheckpointManager& checkpoints,
                                             engine::LoraAdapters* adapters,
                                             engine::AdamW* optimizer);

// What the writing rank of a GSPO run appends to each logged step (owned by the caller).
struct StepLogs {
  std::unique_ptr<MetricsWriter> metrics;          // output_dir/metrics.jsonl
  std::unique_ptr<SampleLog> samples;              // output_dir/samples.jsonl
  std::unique_ptr<TensorBoardWriter> tensorboard;  // null unless logging.tensorboard
};
common::StatusOr<StepLogs> OpenStepLogs(const TrainOptions& options, bool progress);

// output_dir/final/ as `options.exports` asks: "adapter" (PEFT layout, when there are adapters)
// and "merged" (the adapters folded into the base weights, or the model as it is without them).
common::Status ExportFinal(const TrainOptions& options, const engine::DecoderModel& model,
                           const engine::LoraAdapters* adapters);

}  // namespace gspo::runner
