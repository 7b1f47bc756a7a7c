// What the trainers share: the engine's LoRA and learner settings from the training options,
// resuming, a step's learning and what is recorded after it, and the exports written to
// output_dir/final/ when a run ends.
// Stateless functions; not thread-safe with respect to the model they read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
// The optimizer's settings (training section).
engine::AdamWConfig AdamWConfigOf(const TrainOptions& options);

// kInvalidArgument unless a sequence of the run fits the model's context: at most
// generation.max_prompt_length tokens of prompt and max_completion_length new ones, against the
// config's max_position_embeddings. Checked before anything is written.
common::Status CheckContextFits(const TrainOptions& options, const engine::DecoderModel& model);

// What a learning rank trains: adapters attached to the model, their AdamW, the checkpoints of
// output_dir (created), and the first step to run after resuming (ResumeIfAsked). Owns them.
struct TrainingState {
  std::unique_ptr<engine::LoraAdapters> adapters;
  std::unique_ptr<engine::AdamW> optimizer;
  std::unique_ptr<CheckpointManager> checkpoints;
  std::int64_t first_step = 0;
};
common::StatusOr<TrainingState> StartTraining(const TrainOptions& options, engine::DecoderModel* model);

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

// One step's learning (the colocated and the disaggregated loops): the updates of `batch`, the
// schedule advancing by fractions of a step over them; out of memory is kResourceExhausted with
// the memory figures and the knobs that help.
struct LearnedStep {
  engine::LearnMetrics metrics;
  double lr = 0;                // the schedule's rate at the step
  double seconds = 0;
  std::int64_t peak_bytes = 0;  // the device allocator's peak while learning (0 on the CPU)
};
common::StatusOr<LearnedStep> LearnStep(engine::PolicyLearner& learner, const engine::TrainBatch& batch,
                                        const TrainOptions& options, const engine::DecoderModel& model,
                                        std::int64_t step);
// The learner's figures of a step as metrics.jsonl fields (docs/metrics.md).
StepMetrics LearnerMetrics(const LearnedStep& learned);

// What the writing rank does after step `step` (0-based): the metrics row, TensorBoard scalars
// and one sample (`transcript` is asked only then) every log_every steps and at the last, the
// progress line, and a checkpoint every save_steps.
struct StepSample {
  std::string scenario;
  double reward = 0;
  std::function<std::vector<std::pair<std::string, std::string>>()> transcript;  // (role, content)
};
common::Status RecordStep(const TrainOptions& options, std::int64_t step, const StepMetrics& row,
                          const StepSample& sample, StepLogs& logs, const CheckpointManager& checkpoints,
                          const engine::LoraAdapters& adapters, const engine::AdamW& optimizer);

// output_dir/final/ as `options.exports` asks: "adapter" (PEFT layout, when there are adapters)
// and "merged" (the adapters folded into the base weights, or the model as it is without them).
common::Status ExportFinal(const TrainOptions& options, const engine::DecoderModel& model,
                           const engine::LoraAdapters* adapters);

}  // namespace gspo::runner
