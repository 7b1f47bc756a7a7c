// The learner ranks' loop of DisaggregatedTrainer (disaggregated_trainer.h): receive the rollout
// ranks' packets, learn from this rank's share, hand the policy back; the lead learner writes.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "common/files.h"
#include "worker/engine/device_memory.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/runner/disaggregated_trainer.h"
#include "worker/runner/group_shard.h"
#include "worker/runner/out_of_memory.h"
#include "worker/runner/trainer_common.h"
#include "worker/runner/trajectory_wire.h"

namespace gspo::runner {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// This learner's sequences, in its GroupShard order (group-major, samples in order), right-padded
// to `longest` (the step's longest sequence, as colocated ranks pad).
common::StatusOr<engine::TrainBatch> BatchOf(const std::vector<const Trajectory*>& mine,
                                            std::int64_t group_size, std::int64_t longest) {
  const auto n = static_cast<std::int64_t>(mine.size());
  engine::TrainBatch batch;
  batch.ids = at::zeros({n, longest}, at::kLong);
  batch.valid = at::zeros({n, longest}, at::kBool);
  batch.assistant_mask = at::zeros({n, longest}, at::kBool);
  batch.old_logp = at::zeros({n, longest}, at::kFloat);
  batch.rewards = at::zeros({n}, at::kFloat);
  batch.group_size = group_size;
  for (std::int64_t i = 0; i < n; ++i) {
    const Trajectory& t = *mine[i];
    const auto len = static_cast<std::int64_t>(t.ids.size());
    batch.ids[i].narrow(0, 0, len).copy_(
        at::tensor(std::vector<std::int64_t>(t.ids.begin(), t.ids.end()), at::kLong));
    batch.valid[i].narrow(0, 0, len).fill_(true);
    batch.assistant_mask[i].narrow(0, 0, len).copy_(
        at::tensor(std::vector<std::int64_t>(t.assistant_mask.begin(), t.assistant_mask.end()),
                   at::kLong)
            .to(at::kBool));
    batch.old_logp[i].narrow(0, 0, len).copy_(at::tensor(t.logp));
    batch.rewards[i] = t.reward;
  }
  return batch;
}

// The trajectories of `groups` from the step's packets, each group's G samples in order;
// kDataLoss when a packet misses one.
common::StatusOr<std::vector<const Trajectory*>> Select(const std::vector<RolloutPacket>& packets,
                                                        const std::vector<std::int64_t>& groups,
                                                        std::int64_t group_size) {
  std::map<std::pair<std::int64_t, std::int64_t>, const Trajectory*> by_key;
  for (const RolloutPacket& p : packets) {
    for (const Trajectory& t : p.trajectories) by_key[{t.group, t.sample}] = &t;
  }
  std::vector<const Trajectory*> out;
  for (std::int64_t g : groups) {
    for (std::int64_t s = 0; s < group_size; ++s) {
      auto it = by_key.find({g, s});
      if (it == by_key.end()) {
        return common::DataLossError("the rollout ranks sent no sample " + std::to_string(s) +
                                     " of group " + std::to_string(g));
      }
      out.push_back(it->second);
    }
  }
  return out;
}

// Rewards, counts, rollout statistics and staleness of the whole step (every packet).
StepMetrics RolloutMetrics(const std::vector<RolloutPacket>& packets, std::int64_t step,
                           StepMetrics* rollout_stats) {
  std::vector<float> rewards;
  std::map<std::string, double> component_sums;
  double turns = 0, staleness_sum = 0, staleness_max = 0;
  for (const RolloutPacket& p : packets) {
    for (const Trajectory& t : p.trajectories) {
      rewards.push_back(static_cast<float>(t.reward));
      for (const auto& [name, value] : t.components) component_sums[name] += value;
      turns += static_cast<double>(t.turns);
      const double staleness = static_cast<double>(step - t.policy_version);
      staleness_sum += staleness;
      staleness_max = std::max(staleness_max, staleness);
    }
  }
  const double n = static_cast<double>(rewards.size());
  const at::Tensor r = at::tensor(rewards);
  StepMetrics row = {{"reward_mean", r.mean().item<double>()},
                     {"reward_std", r.std(/*unbiased=*/false).item<double>()},
                     {"reward_min", r.min().item<double>()},
                     {"reward_max", r.max().item<double>()}};
  for (const auto& [name, sum] : component_sums) row.emplace_back("reward/" + name, sum / n);
  row.emplace_back("turns_mean", turns / n);
  row.emplace_back("policy_staleness_mean", staleness_sum / n);
  row.emplace_back("policy_staleness_max", staleness_max);
  // Counts add up over the rollout ranks; timings and memory are the slowest / largest rank's.
  std::map<std::string, double> combined;
  for (const RolloutPacket& p : packets) {
    for (const auto& [name, value] : p.stats) {
      const bool summed = name.rfind("tokens_", 0) == 0 || name == "reward_call_errors";
      auto [it, fresh] = combined.emplace(name, value);
      if (!fresh) it->second = summed ? it->second + value : std::max(it->second, value);
    }
  }
  for (const auto& [name, value] : packets.front().stats) rollout_stats->emplace_back(name, combined[name]);
  return row;
}

double Stat(const StepMetrics& stats, const std::string& name) {
  for (const auto& [key, value] : stats) {
    if (key == name) return value;
  }
  return 0;
}

}  // namespace

common::Status DisaggregatedTrainer::RunLearner(bool progress) {
  engine::Communicator& world = *ranks_.world;
  engine::Communicator& learners = *ranks_.learners;
  const int rollout_ranks = ranks_.rollout_ranks;
  const bool lead = learners.rank() == 0;
  GSPO_ASSIGN_OR_RETURN(GroupShard shard, GroupShard::Create(learners.rank(), learners.world_size(),
                                                             options_.prompts_per_step, options_.minibatches));
  std::vector<std::int64_t> groups;
  for (std::int64_t i = 0; i < shard.groups_per_rank(); ++i) groups.push_back(shard.GlobalGroup(i));
  GSPO_ASSIGN_OR_RETURN(TrainingState state, StartTraining(options_, model_));
  engine::LoraAdapters* adapters = state.adapters.get();
  engine::AdamW& optimizer = *state.optimizer;
  const CheckpointManager& checkpoints = *state.checkpoints;
  const std::int64_t first_step = state.first_step;
  StepLogs logs;
  if (lead) {
    GSPO_ASSIGN_OR_RETURN(logs, OpenStepLogs(options_, progress));
    // The first policy (and first step) of the rollout ranks.
    GSPO_RETURN_IF_ERROR(SyncPolicy(*ranks_.sync, rollout_ranks, *adapters, first_step).status());
  }
  const engine::LearnerConfig learner_config = LearnerConfigOf(options_);
  // One learner: no communicator, as a colocated run of one rank.
  engine::PolicyLearner learner(model_, adapters, &optimizer, learner_config,
                                learners.world_size() > 1 ? &learners : nullptr);

  std::map<std::int64_t, std::vector<RolloutPacket>> received;  // by step
  std::int64_t next_step = first_step;                           // the next step to receive
  double seconds_wait_rollout = 0;
  const auto receive_until = [&](std::int64_t last) -> common::Status {
    const auto start = Clock::now();
    for (; next_step <= std::min(last, options_.steps - 1); ++next_step) {
      GSPO_ASSIGN_OR_RETURN(received[next_step], ExchangeRolloutPackets(world, rollout_ranks, nullptr));
      for (const RolloutPacket& p : received[next_step]) {
        if (p.step != next_step) {
          return common::DataLossError("a rollout packet of step " + std::to_string(p.step + 1) +
                                       " arrived for step " + std::to_string(next_step + 1));
        }
      }
    }
    seconds_wait_rollout += Since(start);
    return common::Status::Ok();
  };
  auto step_start = Clock::now();
  for (std::int64_t step = first_step; step < options_.steps; ++step) {
    seconds_wait_rollout = 0;
    GSPO_RETURN_IF_ERROR(receive_until(step));
    const std::vector<RolloutPacket> packets = std::move(received[step]);
    received.erase(step);
    GSPO_ASSIGN_OR_RETURN(std::vector<const Trajectory*> mine,
                          Select(packets, groups, options_.group_size));
    std::int64_t longest = 0;
    for (const RolloutPacket& p : packets) {
      for (const Trajectory& t : p.trajectories) {
        longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(t.ids.size()));
      }
    }
    GSPO_ASSIGN_OR_RETURN(engine::TrainBatch batch, BatchOf(mine, options_.group_size, longest));
    GSPO_ASSIGN_OR_RETURN(const LearnedStep learned, LearnStep(learner, batch, options_, *model_, step));
    // While this step learned, the rollout ranks generated the next ones (max_staleness).
    GSPO_RETURN_IF_ERROR(receive_until(step + options_.max_staleness));
    const auto sync_start = Clock::now();
    if (lead) GSPO_RETURN_IF_ERROR(SyncPolicy(*ranks_.sync, rollout_ranks, *adapters, step + 1).status());
    const double seconds_weight_sync = Since(sync_start);
    const double seconds_step = Since(step_start);
    step_start = Clock::now();
    if (!lead) continue;

    StepMetrics stats;
    StepMetrics row = RolloutMetrics(packets, step, &stats);
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    const double tokens_generated = Stat(stats, "tokens_generated");
    StepMetrics learned_row = LearnerMetrics(learned);
    learned_row.insert(learned_row.end(),
                       {{"memory_weights_gib", static_cast<double>(model_->WeightBytes()) / kGiB},
                        {"memory_learn_peak_gib", static_cast<double>(learned.peak_bytes) / kGiB},
                        {"seconds_learn", learned.seconds},
                        {"seconds_wait_rollout", seconds_wait_rollout},
                        {"seconds_weight_sync", seconds_weight_sync},
                        {"seconds_step", seconds_step},
                        {"tokens_per_second", (tokens_generated + learned.metrics.tokens_trained) / seconds_step}});
    row.insert(row.end(), learned_row.begin(), learned_row.end());
    row.insert(row.end(), stats.begin(), stats.end());
    const RolloutPacket& first = packets.front();
    const auto transcript = [&] { return first.first_transcript; };
    GSPO_RETURN_IF_ERROR(RecordStep(options_, step, row,
                                    {first.first_scenario, first.trajectories.front().reward, transcript}, logs,
                                    checkpoints, *adapters, optimizer));
  }
  if (lead) GSPO_RETURN_IF_ERROR(ExportFinal(options_, *model_, adapters));
  return common::Status::Ok();
}

}  // namespace gspo::runner
