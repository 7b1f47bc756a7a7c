// BatchRewarder: the rewards of one step's trajectories, local components and an optional
// remote reward together, all or nothing.
//
//   trajectories ──▶ MultiObjectiveReward.ScoreEpisode (each) ─┐
//               └──▶ RemoteScorer.Score (one batch) ───────────┴─▶ RewardResult per trajectory
//
// With a remote reward, each result gets a component "remote" (its score, weighted by the
// remote weight and added to the total) and "remote.<name>" for each component the service
// reported (weight 0: logged, not added). When the remote scores cannot be obtained the whole
// call fails with the client's error: a step is never rewarded in part.
//
// Borrows nothing; holds shared pointers. Thread-safe when the remote scorer is.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/reward/multi_objective_reward.h"
#include "worker/reward/remote_scorer.h"
#include "worker/reward/trajectory.h"

namespace gspo::reward {

class BatchRewarder {
 public:
  // Either may be null, not both. `remote_weight` scales the remote score.
  BatchRewarder(std::shared_ptr<const MultiObjectiveReward> local,
                std::shared_ptr<RemoteScorer> remote, double remote_weight);

  common::StatusOr<std::vector<RewardResult>> ScoreEpisodes(
      const std::vector<Trajectory>& trajectories, const ScoreContext& context) const;
  // The remote reward's failed or rejected calls so far; 0 without one.
  std::int64_t RemoteFailedCalls() const { return remote_ ? remote_->FailedCalls() : 0; }

 private:
  std::shared_ptr<const MultiObjectiveReward> local_;
  std::shared_ptr<RemoteScorer> remote_;
  double remote_weight_;
};

// The mean of the total and of each component's value over `results`: {"total", mean}, then
// the components in order of first appearance. A component missing from some results is
// averaged over the results that have it. For the step's metrics.
std::vector<std::pair<std::string, double>> ComponentMeans(
    const std::vector<RewardResult>& results);

}  // namespace gspo::reward
