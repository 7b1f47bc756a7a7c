// EpisodeSource over the conversation environment (worker/env) and the job's rewards
// (worker/reward): scenarios drawn by (seed, step, index), the environment's simulated users
// (rule-based, or a model), and the task's multi-objective reward (plus a remote reward service
// when the job names one).
// Owns the environment and the rewarder; not thread-safe.
#pragma once

#include <memory>

#include "worker/env/conversation_environment.h"
#include "worker/reward/batch_rewarder.h"
#include "worker/runner/episode_source.h"

namespace gspo::runner {

class EnvEpisodeSource : public EpisodeSource {
 public:
  EnvEpisodeSource(std::unique_ptr<env::ConversationEnvironment> environment,
                   std::unique_ptr<reward::BatchRewarder> rewarder, std::string job_name)
      : environment_(std::move(environment)), rewarder_(std::move(rewarder)),
        job_name_(std::move(job_name)) {}

  common::StatusOr<EpisodeOpening> Open(std::int64_t step, std::int64_t index) override;
  common::StatusOr<std::unique_ptr<EpisodeSession>> StartSession(std::int64_t step,
                                                                  std::int64_t index,
                                                                  std::int64_t branch) override;
  common::StatusOr<std::vector<std::optional<std::string>>> UserReplies(
      const std::vector<EpisodeSession*>& sessions,
      const std::vector<std::string>& assistant_texts) override;
  common::StatusOr<std::vector<EpisodeScore>> Score(
      std::int64_t step, const std::vector<EpisodeSession*>& sessions) override;
  std::int64_t RewardCallErrors() const override { return rewarder_->RemoteFailedCalls(); }

 private:
  std::unique_ptr<env::ConversationEnvironment> environment_;
  std::unique_ptr<reward::BatchRewarder> rewarder_;
  std::string job_name_;
};

}  // namespace gspo::runner
