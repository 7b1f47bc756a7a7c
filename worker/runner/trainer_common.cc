#include "worker/runner/trainer_common.h"

#include "common/files.h"
#include "common/logging.h"
#include "worker/runner/exporter.h"

namespace gspo::runner {

engine::LoraConfig LoraConfigOf(const TrainOptions& o) {
  engine::LoraConfig c;
  c.r = o.lora_r;
  c.alpha = o.lora_alpha;
  c.dropout = o.lora_dropout;
  c.target_modules = o.lora_target_modules;
  c.use_rslora = o.use_rslora;
  c.seed = o.seed;
  return c;
}

engine::LearnerConfig LearnerConfigOf(const TrainOptions& o) {
  engine::LearnerConfig c;
  c.loss.clip_range_left = o.clip_range_left;
  c.loss.clip_range_right = o.clip_range_right;
  c.loss.beta = o.beta;
  c.loss.token_level = o.use_gspo_token;
  c.num_iterations = o.num_iterations;
  c.minibatches = o.minibatches;
  c.micro_batch = o.micro_batch;
  c.max_grad_norm = o.max_grad_norm;
  c.temperature = o.temperature;
  c.recompute_old_logprobs = o.recompute_old_logprobs;
  c.gradient_checkpointing = o.gradient_checkpointing;
  return c;
}

common::StatusOr<std::int64_t> ResumeIfAsked(const TrainOptions& options,
                                             const CheckpointManager& checkpoints,
                                             engine::LoraAdapters* adapters,
                                             engine::AdamW* optimizer) {
  if (options.resume_from_checkpoint.empty()) return std::int64_t{0};
  std::string dir = options.resume_from_checkpoint;
  if (dir == "latest") {
    auto latest = checkpoints.Latest();
    if (!latest) {
      return common::NotFoundError("resume_from_checkpoint: latest: no checkpoint in " +
                                   checkpoints.CheckpointsDir());
    }
    dir = *latest;
  }
  GSPO_ASSIGN_OR_RETURN(std::int64_t first_step, checkpoints.Load(dir, adapters, optimizer));
  common::LogInfo("resumed", {{"checkpoint", dir}, {"step", first_step}});
  return first_step;
}

common::StatusOr<StepLogs> OpenStepLogs(const TrainOptions& options, bool progress) {
  StepLogs logs;
  GSPO_ASSIGN_OR_RETURN(logs.metrics, MetricsWriter::Open(common::JoinPath(options.output_dir, "metrics.jsonl"),
                                                          options.steps, progress));
  GSPO_ASSIGN_OR_RETURN(logs.samples, SampleLog::Open(common::JoinPath(options.output_dir, "samples.jsonl")));
  if (options.tensorboard) {
    std::string dir = common::JoinPath(options.output_dir, "tensorboard");
    if (!options.run_name.empty()) dir = common::JoinPath(dir, options.run_name);
    GSPO_ASSIGN_OR_RETURN(logs.tensorboard, TensorBoardWriter::Open(dir));
  }
  return logs;
}

common::Status ExportFinal(const TrainOptions& options, const engine::DecoderModel& model,
                           const engine::LoraAdapters* adapters) {
  const std::string final_dir = common::JoinPath(options.output_dir, "final");
  for (const std::string& kind : options.exports) {
    if (kind == "adapter" && adapters != nullptr) {
      GSPO_RETURN_IF_ERROR(adapters->SavePeft(common::JoinPath(final_dir, "adapter"), options.model_name));
    } else if (kind == "merged") {
      const std::string out = common::JoinPath(final_dir, "merged");
      GSPO_RETURN_IF_ERROR(adapters != nullptr ? ExportMerged(model, *adapters, options.model_dir, out)
                                               : ExportModel(model, options.model_dir, out));
    }
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
