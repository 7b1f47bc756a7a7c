// RemoteScorer: a reward computed outside the process for a batch of trajectories, such as a
// user's RewardService (remote_reward_client.h). An interface so that the step's reward
// assembly (batch_rewarder.h) can be tested without a server.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/reward/trajectory.h"

namespace gspo::reward {

// What the scores are for, passed to the service.
struct ScoreContext {
  std::string job;        // the job's name
  std::int64_t step = 0;  // the GSPO step
};

struct RemoteScore {
  double score = 0;
  // Optional per-component scores reported by the service, in name order.
  std::vector<std::pair<std::string, double>> components;
};

class RemoteScorer {
 public:
  virtual ~RemoteScorer() = default;
  // One score per trajectory, in order, or an error: never a partial result. Implementations
  // state their thread-safety.
  virtual common::StatusOr<std::vector<RemoteScore>> Score(const std::vector<Trajectory>& batch,
                                                           const ScoreContext& context) = 0;
  // Calls that failed or whose replies were rejected so far (retried or not), for the metrics.
  virtual std::int64_t FailedCalls() const { return 0; }
};

}  // namespace gspo::reward
