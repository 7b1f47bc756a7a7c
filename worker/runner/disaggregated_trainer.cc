#include "worker/runner/disaggregated_trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <string>
#include <utility>
#include <vector>

#include "worker/runner/group_shard.h"

namespace gspo::runner {

common::Status DisaggregatedTrainer::Run(bool progress) {
  const int r = ranks_.rollout_ranks;
  if (ranks_.world == nullptr || r < 1 || r >= ranks_.world->world_size()) {
    return common::InvalidArgumentError(
        "resources.rollout_gpus: disaggregated mode needs 1 to world size - 1 rollout ranks and "
        "a world of at least 2 ranks");
  }
  const int rank = ranks_.world->rank();
  const bool rollout = rank < r, lead = rank == r;
  const int learners = ranks_.world->world_size() - r;
  if ((ranks_.learners != nullptr) == rollout || (ranks_.sync != nullptr) != (rollout || lead) ||
      (ranks_.learners != nullptr && ranks_.learners->world_size() != learners) ||
      (ranks_.sync != nullptr && (ranks_.sync->world_size() != r + 1 || ranks_.sync->rank() != rank))) {
    return common::InvalidArgumentError("rank " + std::to_string(rank) +
                                        ": its communicators do not fit its role");
  }
  return rollout ? RunRollout() : RunLearner(progress);
}

common::StatusOr<DisaggregatedGroups> JoinDisaggregated(int world_size, int rollout_ranks, const JoinGroups& join) {
  std::vector<int> learners, sync;
  for (int r = 0; r < world_size; ++r) (r < rollout_ranks ? sync : learners).push_back(r);
  sync.push_back(rollout_ranks);  // the lead learner: sync rank = world rank
  GSPO_ASSIGN_OR_RETURN(engine::CommunicatorGroups joined, join({{"learners", learners}, {"policy-sync", sync}}));
  DisaggregatedGroups out;
  out.world = std::move(joined.world);
  out.learners = std::move(joined.subgroups[0]);
  out.sync = std::move(joined.subgroups[1]);
  out.rollout_ranks = rollout_ranks;
  return out;
}

common::Status CheckDisaggregatedRanks(const TrainOptions& options, int world_size) {
  if (world_size < 2) {
    return common::InvalidArgumentError(
        "resources.mode: disaggregated runs rollout and learner ranks as separate processes; "
        "start it with gspo train --nproc N (N = resources.gpus, at least 2)");
  }
  if (options.rollout_ranks < 1 || options.rollout_ranks >= world_size) {
    return common::InvalidArgumentError("resources.rollout_gpus: expected 1 to " +
                                        std::to_string(world_size - 1) + " of " +
                                        std::to_string(world_size) + " ranks, got " +
                                        std::to_string(options.rollout_ranks));
  }
  if (options.prompts_per_step % options.rollout_ranks != 0) {
    return common::InvalidArgumentError(
        "training.prompts_per_step: " + std::to_string(options.prompts_per_step) +
        " prompt groups cannot be shared evenly by " + std::to_string(options.rollout_ranks) +
        " rollout ranks");
  }
  const auto learners = static_cast<int>(world_size - options.rollout_ranks);
  const common::Status shard =
      GroupShard::Create(0, learners, options.prompts_per_step, options.minibatches).status();
  if (shard.ok()) return shard;
  return common::InvalidArgumentError("learner ranks (resources.gpus - resources.rollout_gpus = " +
                                      std::to_string(learners) + "): " + shard.message());
}

common::StatusOr<std::int64_t> SyncPolicy(engine::Communicator& sync, int root,
                                          engine::LoraAdapters& adapters, std::int64_t version) {
  const std::vector<at::Tensor> params = adapters.Parameters();
  std::vector<at::Tensor> parts;
  for (const at::Tensor& p : params) parts.push_back(p.detach().to(at::kFloat).reshape({-1}));
  at::Device device = params.empty() ? at::Device(at::kCPU) : params.front().device();
  // A float32 holds every version below 2^24 exactly.
  parts.push_back(at::full({1}, static_cast<float>(version), at::TensorOptions(device).dtype(at::kFloat)));
  std::vector<at::Tensor> flat = {at::cat(parts)};
  GSPO_RETURN_IF_ERROR(sync.Broadcast(flat, root));
  if (sync.rank() != root) {
    c10::NoGradGuard no_grad;
    std::int64_t offset = 0;
    for (const at::Tensor& p : params) {
      at::Tensor target = p;  // shares storage with the adapter
      target.copy_(flat[0].narrow(0, offset, p.numel()).view_as(p));
      offset += p.numel();
    }
  }
  return static_cast<std::int64_t>(flat[0][flat[0].numel() - 1].item<float>());
}

}  // namespace gspo::runner
