#include "worker/runner/group_shard.h"

#include <string>

#include "common/ranks.h"

namespace gspo::runner {

common::StatusOr<GroupShard> GroupShard::Create(int rank, int world_size,
                                                std::int64_t prompts_per_step,
                                                std::int64_t minibatches) {
  GSPO_RETURN_IF_ERROR(common::CheckRankInWorld(rank, world_size));
  if (prompts_per_step < 1 || minibatches < 1) {
    return common::InvalidArgumentError(
        "training.prompts_per_step and gspo.minibatches must be positive");
  }
  const std::int64_t unit = world_size * minibatches;
  // One rank learns from the whole batch in whatever minibatches the learner makes of it.
  if (world_size > 1 && prompts_per_step % unit != 0) {
    return common::InvalidArgumentError(
        "training.prompts_per_step: " + std::to_string(prompts_per_step) +
        " prompt groups cannot be split into " + std::to_string(minibatches) +
        " minibatches of whole groups shared evenly by " + std::to_string(world_size) +
        " ranks; use a multiple of " + std::to_string(unit) + " (ranks x gspo.minibatches)");
  }
  return GroupShard(rank, world_size, prompts_per_step, minibatches);
}

std::int64_t GroupShard::GlobalGroup(std::int64_t local) const {
  if (world_size_ == 1) return local;
  const std::int64_t per_minibatch = prompts_per_step_ / minibatches_;  // groups, all ranks
  const std::int64_t per_rank_slice = per_minibatch / world_size_;      // groups, this rank
  const std::int64_t minibatch = local / per_rank_slice;
  return minibatch * per_minibatch + rank_ * per_rank_slice + local % per_rank_slice;
}

}  // namespace gspo::runner
