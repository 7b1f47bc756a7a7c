#include "worker/reward/job_reward.h"

#include "gspo/v1/job.pb.h"

namespace gspo::reward {

common::StatusOr<std::shared_ptr<const MultiObjectiveReward>> RewardForJob(
    const v1::JobSpec& spec) {
  const v1::RewardSpec& r = spec.reward();
  if (r.components().empty()) return std::shared_ptr<const MultiObjectiveReward>();
  std::vector<WeightedComponent> components;
  for (const v1::RewardComponent& c : r.components()) components.push_back({c.name(), c.weight()});
  const double remote_weight = r.has_remote() ? r.remote().weight() : 0;
  GSPO_ASSIGN_OR_RETURN(MultiObjectiveReward reward,
                        MultiObjectiveReward::Create(std::move(components), remote_weight));
  return std::make_shared<const MultiObjectiveReward>(std::move(reward));
}

std::optional<RemoteRewardOptions> RemoteRewardOptionsForJob(const v1::JobSpec& spec) {
  if (!spec.reward().has_remote()) return std::nullopt;
  const v1::RemoteReward& remote = spec.reward().remote();
  RemoteRewardOptions options;
  options.address = remote.address();
  if (remote.has_timeout_ms()) options.timeout_ms = remote.timeout_ms();
  if (remote.has_max_retries()) options.max_retries = remote.max_retries();
  return options;
}

common::StatusOr<std::unique_ptr<BatchRewarder>> BatchRewarderForJob(const v1::JobSpec& spec) {
  GSPO_ASSIGN_OR_RETURN(std::shared_ptr<const MultiObjectiveReward> local, RewardForJob(spec));
  std::shared_ptr<RemoteScorer> remote;
  double remote_weight = 0;
  if (auto options = RemoteRewardOptionsForJob(spec)) {
    GSPO_ASSIGN_OR_RETURN(std::unique_ptr<RemoteRewardClient> client,
                          RemoteRewardClient::Create(*std::move(options)));
    remote = std::move(client);
    remote_weight = spec.reward().remote().has_weight() ? spec.reward().remote().weight() : 1.0;
  }
  if (local == nullptr && remote == nullptr) {
    return common::InvalidArgumentError(
        "reward.components: no reward: set reward.preset, reward.components or reward.remote");
  }
  return std::make_unique<BatchRewarder>(std::move(local), std::move(remote), remote_weight);
}

}  // namespace gspo::reward
