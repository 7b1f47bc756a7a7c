// The rollout ranks' loop of DisaggregatedTrainer (disaggregated_trainer.h): wait for a recent
// enough policy, generate this rank's groups, hand them to the learners.
#include <c10/util/Exception.h>

#include <chrono>
#include <numeric>

#include "worker/engine/device_memory.h"
#include "worker/runner/disaggregated_trainer.h"
#include "worker/runner/episode_collector.h"
#include "worker/runner/out_of_memory.h"
#include "worker/runner/trainer_common.h"
#include "worker/runner/trajectory_wire.h"

namespace gspo::runner {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The wire form of this rank's episodes of one step.
RolloutPacket PacketOf(std::int64_t step, Rollout& rollout,
                       const std::vector<std::int64_t>& groups, std::int64_t group_size,
                       std::int64_t version) {
  RolloutPacket packet;
  packet.step = step;
  packet.first_scenario = rollout.first_scenario;
  for (std::size_t i = 0; i < rollout.branches.size(); ++i) {
    const Branch& b = rollout.branches[i];
    Trajectory t;
    t.group = groups[i / group_size];
    t.sample = static_cast<std::int64_t>(i) % group_size;
    t.policy_version = version;
    t.ids.assign(b.builder->ids().begin(), b.builder->ids().end());
    for (auto m : b.builder->assistant_mask()) t.assistant_mask.push_back(m != 0 ? 1 : 0);
    t.logp = b.logp;
    t.reward = rollout.scores[i].total;
    t.components.assign(rollout.scores[i].components.begin(), rollout.scores[i].components.end());
    t.turns = b.turns;
    packet.trajectories.push_back(std::move(t));
  }
  for (auto& [role, content] : rollout.branches.front().session->Transcript()) {
    packet.first_transcript.emplace_back(std::move(role), std::move(content));
  }
  return packet;
}

}  // namespace

common::Status DisaggregatedTrainer::RunRollout() {
  engine::Communicator& world = *ranks_.world;
  engine::Communicator& sync = *ranks_.sync;
  const int rollout_ranks = ranks_.rollout_ranks, lead = rollout_ranks;
  // Contiguous slices of the step's groups; their seeds come from the step-wide index.
  const std::int64_t per_rank = options_.prompts_per_step / rollout_ranks;
  std::vector<std::int64_t> groups(per_rank);
  std::iota(groups.begin(), groups.end(), world.rank() * per_rank);
  GSPO_ASSIGN_OR_RETURN(auto adapters, engine::LoraAdapters::Attach(model_, LoraConfigOf(options_)));
  // The learners' adapters (after resuming): the first policy, and the first step.
  GSPO_ASSIGN_OR_RETURN(std::int64_t version, SyncPolicy(sync, lead, *adapters, 0));
  const std::int64_t first_step = version;
  EpisodeCollector collector(&options_, model_, tokenizer_, format_, episodes_);
  for (std::int64_t step = first_step; step < options_.steps; ++step) {
    const auto wait_start = Clock::now();
    while (version < step - options_.max_staleness) {
      GSPO_ASSIGN_OR_RETURN(version, SyncPolicy(sync, lead, *adapters, 0));
    }
    const double seconds_wait_policy = Since(wait_start);
    StepMetrics stats;
    common::StatusOr<Rollout> collected = common::InternalError("rollout did not run");
    engine::ResetPeakMemory(model_->device());
    try {
      collected = collector.Collect(step, groups, &stats);
    } catch (const c10::OutOfMemoryError& e) {
      const engine::DeviceMemory m = engine::QueryDeviceMemory(model_->device());
      return common::ResourceExhaustedError(OutOfMemoryMessage(
          "rollout", step + 1, {m.allocated, m.peak_allocated, m.reserved, m.total}, options_,
          e.what()));
    }
    GSPO_RETURN_IF_ERROR(collected.status());
    Rollout rollout = std::move(collected).value();
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    stats.emplace_back("seconds_wait_policy", seconds_wait_policy);
    stats.emplace_back("memory_kv_cache_gib", static_cast<double>(rollout.kv_cache_bytes) / kGiB);
    stats.emplace_back("memory_rollout_peak_gib",
                       static_cast<double>(engine::QueryDeviceMemory(model_->device()).peak_allocated) / kGiB);
    stats.emplace_back("tokens_generated", static_cast<double>(rollout.tokens_generated));
    stats.emplace_back("tokens_prefilled", static_cast<double>(rollout.tokens_prefilled));
    stats.emplace_back("reward_call_errors", static_cast<double>(episodes_->RewardCallErrors()));
    RolloutPacket packet = PacketOf(step, rollout, groups, options_.group_size, version);
    packet.stats = std::move(stats);
    GSPO_RETURN_IF_ERROR(ExchangeRolloutPackets(world, rollout_ranks, &packet).status());
  }
  // The learners send a policy after every step: take them all, so both sides end together.
  while (version < options_.steps) {
    GSPO_ASSIGN_OR_RETURN(version, SyncPolicy(sync, lead, *adapters, 0));
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
