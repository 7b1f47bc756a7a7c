#include "worker/reward/batch_rewarder.h"

#include <map>

namespace gspo::reward {

BatchRewarder::BatchRewarder(std::shared_ptr<const MultiObjectiveReward> local,
                             std::shared_ptr<RemoteScorer> remote, double remote_weight)
    : local_(std::move(local)), remote_(std::move(remote)), remote_weight_(remote_weight) {}

common::StatusOr<std::vector<RewardResult>> BatchRewarder::ScoreEpisodes(
    const std::vector<Trajectory>& trajectories, const ScoreContext& context) const {
  if (local_ == nullptr && remote_ == nullptr) {
    return common::FailedPreconditionError("no reward: neither components nor a remote reward");
  }
  for (const Trajectory& t : trajectories) {
    if (t.scenario == nullptr) {
      return common::InvalidArgumentError("trajectory '" + t.id + "' has no scenario");
    }
  }
  std::vector<RewardResult> results(trajectories.size());
  if (local_ != nullptr) {
    for (std::size_t i = 0; i < trajectories.size(); ++i) {
      results[i] = local_->ScoreEpisode(trajectories[i]);
    }
  }
  if (remote_ == nullptr || trajectories.empty()) return results;

  GSPO_ASSIGN_OR_RETURN(std::vector<RemoteScore> remote, remote_->Score(trajectories, context));
  if (remote.size() != trajectories.size()) {
    return common::InternalError("remote reward returned " + std::to_string(remote.size()) +
                                 " scores for " + std::to_string(trajectories.size()) +
                                 " trajectories");
  }
  for (std::size_t i = 0; i < trajectories.size(); ++i) {
    results[i].components.push_back({"remote", remote[i].score, remote_weight_, false});
    results[i].total += remote_weight_ * remote[i].score;
    for (const auto& [name, value] : remote[i].components) {
      results[i].components.push_back({"remote." + name, value, 0, false});
    }
  }
  return results;
}

std::vector<std::pair<std::string, double>> ComponentMeans(
    const std::vector<RewardResult>& results) {
  std::vector<std::pair<std::string, double>> means;
  std::vector<int> counts;
  std::map<std::string, std::size_t> slot;
  means.push_back({"total", 0});
  counts.push_back(0);
  for (const RewardResult& r : results) {
    means[0].second += r.total;
    ++counts[0];
    for (const ComponentValue& c : r.components) {
      auto [it, inserted] = slot.emplace(c.name, means.size());
      if (inserted) {
        means.push_back({c.name, 0});
        counts.push_back(0);
      }
      means[it->second].second += c.value;
      ++counts[it->second];
    }
  }
  for (std::size_t i = 0; i < means.size(); ++i) {
    if (counts[i] > 0) means[i].second /= counts[i];
  }
  return means;
}

}  // namespace gspo::reward
