#include "worker/runner/gspo_trainer.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

#include "common/files.h"
#include "common/logging.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/runner/checkpoint_manager.h"
#include "worker/runner/episode_collector.h"
#include "worker/runner/group_shard.h"
#include "worker/runner/rank_metrics.h"
#include "worker/runner/out_of_memory.h"
#include "worker/engine/device_memory.h"
#include "worker/runner/tensorboard_writer.h"
#include "worker/runner/trainer_common.h"

namespace gspo::runner {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

common::Status GspoTrainer::Run(bool progress) {
  engine::SingleRankCommunicator single_rank;
  engine::Communicator& ranks = communicator_ != nullptr ? *communicator_ : single_rank;
  GSPO_ASSIGN_OR_RETURN(GroupShard shard, GroupShard::Create(ranks.rank(), ranks.world_size(),
                                                             options_.prompts_per_step, options_.minibatches));
  global_groups_.clear();
  for (std::int64_t i = 0; i < shard.groups_per_rank(); ++i) global_groups_.push_back(shard.GlobalGroup(i));
  const bool lead = ranks.rank() == 0;  // the rank that writes
  GSPO_ASSIGN_OR_RETURN(TrainingState state, StartTraining(options_, model_));
  engine::LoraAdapters* adapters = state.adapters.get();
  engine::AdamW& optimizer = *state.optimizer;
  const CheckpointManager& checkpoints = *state.checkpoints;
  const std::int64_t first_step = state.first_step;
  StepLogs logs;
  if (lead) {
    GSPO_ASSIGN_OR_RETURN(logs, OpenStepLogs(options_, progress));
  }
  const engine::LearnerConfig learner_config = LearnerConfigOf(options_);
  engine::PolicyLearner learner(model_, adapters, &optimizer, learner_config, communicator_);
  EpisodeCollector collector(&options_, model_, tokenizer_, format_, episodes_);

  for (std::int64_t step = first_step; step < options_.steps; ++step) {
    const auto step_start = Clock::now();
    StepMetrics metrics;
    const auto out_of_memory = [&](const char* phase, const c10::OutOfMemoryError& e) {
      const engine::DeviceMemory m = engine::QueryDeviceMemory(model_->device());
      return common::ResourceExhaustedError(OutOfMemoryMessage(
          phase, step + 1, {m.allocated, m.peak_allocated, m.reserved, m.total}, options_, e.what()));
    };
    common::StatusOr<Rollout> collected = common::InternalError("rollout did not run");
    engine::ResetPeakMemory(model_->device());
    try {
      collected = collector.Collect(step, global_groups_, &metrics);
    } catch (const c10::OutOfMemoryError& e) {
      return out_of_memory("rollout", e);
    }
    GSPO_RETURN_IF_ERROR(collected.status());
    Rollout rollout = std::move(collected).value();
    const std::int64_t rollout_peak = engine::QueryDeviceMemory(model_->device()).peak_allocated;

    // Right-padded batch of every branch.
    const std::int64_t n = static_cast<std::int64_t>(rollout.branches.size());
    std::int64_t longest = 0;
    for (const Branch& b : rollout.branches) longest = std::max<std::int64_t>(longest, b.builder->ids().size());
    if (ranks.world_size() > 1) {
      // Every rank pads to the step's longest sequence: the learner's products then have the
      // shapes (and roundings) one rank would have.
      GSPO_ASSIGN_OR_RETURN(auto lengths, ranks.AllGather({static_cast<double>(longest)}));
      for (const auto& length : lengths) longest = std::max(longest, static_cast<std::int64_t>(length[0]));
    }
    engine::TrainBatch batch;
    batch.ids = at::zeros({n, longest}, at::kLong);
    batch.valid = at::zeros({n, longest}, at::kBool);
    batch.assistant_mask = at::zeros({n, longest}, at::kBool);
    batch.old_logp = at::zeros({n, longest}, at::kFloat);
    batch.rewards = at::zeros({n}, at::kFloat);
    batch.group_size = options_.group_size;
    std::map<std::string, double> component_sums;
    double turns = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const Branch& b = rollout.branches[i];
      const auto& ids = b.builder->ids();
      const auto& mask = b.builder->assistant_mask();
      const std::int64_t len = ids.size();
      batch.ids[i].narrow(0, 0, len).copy_(at::tensor(std::vector<std::int64_t>(ids.begin(), ids.end()), at::kLong));
      batch.valid[i].narrow(0, 0, len).fill_(true);
      batch.assistant_mask[i].narrow(0, 0, len).copy_(
          at::tensor(std::vector<std::int64_t>(mask.begin(), mask.end()), at::kLong).to(at::kBool));
      batch.old_logp[i].narrow(0, 0, len).copy_(at::tensor(b.logp));
      batch.rewards[i] = rollout.scores[i].total;
      for (const auto& [name, value] : rollout.scores[i].components) component_sums[name] += value;
      turns += b.turns;
    }
    GSPO_ASSIGN_OR_RETURN(const LearnedStep learned, LearnStep(learner, batch, options_, *model_, step));
    const double seconds_step = Since(step_start);

    at::Tensor rewards = batch.rewards;
    StepMetrics row = {
        {"reward_mean", rewards.mean().item<double>()},
        {"reward_std", rewards.std(/*unbiased=*/false).item<double>()},
        {"reward_min", rewards.min().item<double>()},
        {"reward_max", rewards.max().item<double>()},
    };
    for (const auto& [name, sum] : component_sums) row.emplace_back("reward/" + name, sum / n);
    StepMetrics counts = {{"tokens_generated", static_cast<double>(rollout.tokens_generated)},
                          {"turns_mean", turns / n},
                          {"reward_call_errors", static_cast<double>(episodes_->RewardCallErrors())},
                          {"tokens_prefilled", static_cast<double>(rollout.tokens_prefilled)}};
    // Memory (GiB): the base weights as held (quantized when use_4bit / use_8bit), the rollout's
    // KV cache, and the device allocator's peak in each phase (0 on the CPU); over ranks, the
    // largest (combined with the timings).
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    metrics.emplace_back("memory_weights_gib", static_cast<double>(model_->WeightBytes()) / kGiB);
    metrics.emplace_back("memory_kv_cache_gib", static_cast<double>(rollout.kv_cache_bytes) / kGiB);
    metrics.emplace_back("memory_rollout_peak_gib", static_cast<double>(rollout_peak) / kGiB);
    metrics.emplace_back("memory_learn_peak_gib", static_cast<double>(learned.peak_bytes) / kGiB);
    if (ranks.world_size() > 1) {
      GSPO_RETURN_IF_ERROR(CombineRolloutMetrics(ranks, (rewards * rewards).mean().item<double>(),
                                                 &row, &counts, &metrics));
    }
    const StepMetrics learned_row = LearnerMetrics(learned);
    row.insert(row.end(), learned_row.begin(), learned_row.end());
    row.insert(row.end(), counts.begin(), counts.end());
    row.insert(row.end(), metrics.begin(), metrics.end());
    row.emplace_back("seconds_learn", learned.seconds);
    row.emplace_back("seconds_step", seconds_step);
    row.emplace_back("tokens_per_second", (counts[0].second + learned.metrics.tokens_trained) / seconds_step);
    if (!lead) continue;
    const auto transcript = [&] { return rollout.branches.front().session->Transcript(); };
    GSPO_RETURN_IF_ERROR(RecordStep(options_, step, row,
                                    {rollout.first_scenario, rollout.scores.front().total, transcript}, logs,
                                    checkpoints, *adapters, optimizer));
  }
  if (lead) GSPO_RETURN_IF_ERROR(ExportFinal(options_, *model_, adapters));
  return common::Status::Ok();
}

}  // namespace gspo::runner
