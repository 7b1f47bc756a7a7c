// The edge between a job spec and the rewards: builds the step's BatchRewarder from a resolved
// JobSpec (reward.components, already filled from reward.preset by the spec resolution, and
// reward.remote). Forward-declares the protobuf type; the conversion lives in job_reward.cc
// (target gspo_reward_job).
// Stateless functions; safe from any thread.
#pragma once

#include <memory>
#include <optional>

#include "common/status.h"
#include "worker/reward/batch_rewarder.h"
#include "worker/reward/multi_objective_reward.h"
#include "worker/reward/remote_reward_client.h"

namespace gspo::v1 {
class JobSpec;
}  // namespace gspo::v1

namespace gspo::reward {

// The weighted components of the job; nullptr when it has none (a remote reward only).
common::StatusOr<std::shared_ptr<const MultiObjectiveReward>> RewardForJob(const v1::JobSpec& spec);

// The remote reward's options when reward.remote is set.
std::optional<RemoteRewardOptions> RemoteRewardOptionsForJob(const v1::JobSpec& spec);

// Local components and, when set, a RemoteRewardClient for reward.remote.
common::StatusOr<std::unique_ptr<BatchRewarder>> BatchRewarderForJob(const v1::JobSpec& spec);

}  // namespace gspo::reward
