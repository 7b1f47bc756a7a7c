#include "worker/runner/trainer_common.h"

#include <c10/util/Exception.h>

#include <chrono>

#include "common/files.h"
#include "common/logging.h"
#include "worker/engine/device_memory.h"
#include "worker/runner/exporter.h"
#include "worker/runner/out_of_memory.h"

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

engine::AdamWConfig AdamWConfigOf(const TrainOptions& o) {
  engine::AdamWConfig c;
  c.weight_decay = o.weight_decay;
  c.offload_state = o.optimizer_offload;
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

common::Status CheckContextFits(const TrainOptions& options, const engine::DecoderModel& model) {
  const std::int64_t context = model.config().max_position_embeddings;
  const std::int64_t longest = options.max_prompt_length + options.max_completion_length;
  if (context > 0 && longest > context) {
    return common::InvalidArgumentError(
        "generation.max_prompt_length + generation.max_completion_length = " + std::to_string(longest) +
        " tokens, more than the model's context of " + std::to_string(context) +
        " (max_position_embeddings in " + options.model_dir + "/config.json); lower either");
  }
  return common::Status::Ok();
}

common::StatusOr<TrainingState> StartTraining(const TrainOptions& options, engine::DecoderModel* model) {
  GSPO_RETURN_IF_ERROR(CheckContextFits(options, *model));
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(options.output_dir));
  TrainingState state;
  GSPO_ASSIGN_OR_RETURN(state.adapters, engine::LoraAdapters::Attach(model, LoraConfigOf(options)));
  state.optimizer =
      std::make_unique<engine::AdamW>(state.adapters->Parameters(), AdamWConfigOf(options));
  state.checkpoints =
      std::make_unique<CheckpointManager>(options.output_dir, options.save_total_limit, options.model_name);
  GSPO_ASSIGN_OR_RETURN(state.first_step,
                        ResumeIfAsked(options, *state.checkpoints, state.adapters.get(), state.optimizer.get()));
  return state;
}

common::StatusOr<LearnedStep> LearnStep(engine::PolicyLearner& learner, const engine::TrainBatch& batch,
                                        const TrainOptions& options, const engine::DecoderModel& model,
                                        std::int64_t step) {
  const engine::LearnerConfig config = LearnerConfigOf(options);
  const std::int64_t updates_per_step = config.num_iterations * config.minibatches;
  LearnedStep out;
  out.lr = engine::ScheduledLearningRate(options.lr_schedule, options.learning_rate, step,
                                         options.warmup_steps, options.steps);
  const auto start = std::chrono::steady_clock::now();
  engine::ResetPeakMemory(model.device());
  common::StatusOr<engine::LearnMetrics> learned = common::InternalError("learning did not run");
  try {
    learned = learner.Learn(batch, [&](std::int64_t k) {
      return engine::ScheduledLearningRate(options.lr_schedule, options.learning_rate,
                                           step * updates_per_step + k,
                                           options.warmup_steps * updates_per_step,
                                           options.steps * updates_per_step);
    });
  } catch (const c10::OutOfMemoryError& e) {
    const engine::DeviceMemory m = engine::QueryDeviceMemory(model.device());
    return common::ResourceExhaustedError(OutOfMemoryMessage(
        "learning", step + 1, {m.allocated, m.peak_allocated, m.reserved, m.total}, options, e.what()));
  }
  GSPO_RETURN_IF_ERROR(learned.status());
  out.metrics = std::move(learned).value();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.peak_bytes = engine::QueryDeviceMemory(model.device()).peak_allocated;
  return out;
}

StepMetrics LearnerMetrics(const LearnedStep& learned) {
  const engine::LearnMetrics& m = learned.metrics;
  return {{"loss", m.loss},
          {"clip_fraction", m.clip_fraction},
          {"clip_fraction_low", m.clip_fraction_low},
          {"clip_fraction_high", m.clip_fraction_high},
          {"ratio_mean", m.ratio_mean},
          {"ratio_min", m.ratio_min},
          {"ratio_max", m.ratio_max},
          {"kl", m.kl},
          {"entropy", m.entropy},
          {"grad_norm", m.grad_norm},
          {"lr", learned.lr},
          {"advantage_std", m.advantage_std},
          {"zero_advantage_groups", static_cast<double>(m.zero_advantage_groups)},
          {"logprob_mismatch", m.logprob_mismatch},
          {"tokens_trained", static_cast<double>(m.tokens_trained)}};
}

common::Status RecordStep(const TrainOptions& options, std::int64_t step, const StepMetrics& row,
                          const StepSample& sample, StepLogs& logs, const CheckpointManager& checkpoints,
                          const engine::LoraAdapters& adapters, const engine::AdamW& optimizer) {
  if ((step + 1) % options.log_every == 0 || step + 1 == options.steps) {
    GSPO_RETURN_IF_ERROR(logs.metrics->Write(step + 1, row));
    if (logs.tensorboard) GSPO_RETURN_IF_ERROR(logs.tensorboard->AddScalars(step + 1, row));
    std::vector<SampleTurn> turns;
    for (auto& [role, content] : sample.transcript()) turns.push_back({std::move(role), std::move(content)});
    GSPO_RETURN_IF_ERROR(logs.samples->Write(step + 1, sample.scenario, sample.reward, turns));
  }
  logs.metrics->Progress(step + 1, row);
  if (options.save_steps > 0 && (step + 1) % options.save_steps == 0) {
    GSPO_RETURN_IF_ERROR(checkpoints.Save(step + 1, adapters, optimizer));
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
