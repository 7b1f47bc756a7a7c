#include "worker/runner/env_episode_source.h"

#include "worker/reward/trajectory.h"

namespace gspo::runner {
namespace {

class EnvSession : public EpisodeSession {
 public:
  EnvSession(const env::ConversationEnvironment* environment, env::Episode episode, std::string id)
      : environment_(environment), episode_(std::move(episode)), id_(std::move(id)) {}

  common::StatusOr<std::optional<std::string>> UserReply(const std::string& assistant_text) override {
    GSPO_ASSIGN_OR_RETURN(env::StepResult result, environment_->Step(&episode_, assistant_text));
    if (result.done || !result.user_turn) return std::optional<std::string>();
    return std::optional<std::string>(result.user_turn->content);
  }

  void SetTokenCounts(std::int64_t prompt_tokens, std::int64_t completion_tokens) override {
    prompt_tokens_ = prompt_tokens;
    completion_tokens_ = completion_tokens;
  }

  reward::Trajectory ToTrajectory() const {
    reward::Trajectory t = reward::TrajectoryFromEpisode(episode_, id_);
    t.num_prompt_tokens = static_cast<std::int32_t>(prompt_tokens_);
    t.num_completion_tokens = static_cast<std::int32_t>(completion_tokens_);
    return t;
  }

 private:
  const env::ConversationEnvironment* environment_;
  env::Episode episode_;
  std::string id_;
  std::int64_t prompt_tokens_ = 0, completion_tokens_ = 0;
};

}  // namespace

common::StatusOr<EpisodeOpening> EnvEpisodeSource::Open(std::int64_t step, std::int64_t index) {
  env::Episode episode = environment_->StartEpisode(step, index);
  EpisodeOpening opening;
  opening.scenario_id = episode.scenario().id;
  opening.task = episode.scenario().task;
  opening.max_turns = episode.max_turns();
  for (const env::Message& m : episode.messages()) {
    if (m.role == env::Role::kSystem) opening.system_prompt = m.content;
    if (m.role == env::Role::kUser && opening.user_message.empty()) opening.user_message = m.content;
  }
  return opening;
}

common::StatusOr<std::unique_ptr<EpisodeSession>> EnvEpisodeSource::StartSession(
    std::int64_t step, std::int64_t index, std::int64_t branch) {
  const std::string id = std::to_string(step) + "/" + std::to_string(index) + "/" + std::to_string(branch);
  return std::unique_ptr<EpisodeSession>(
      new EnvSession(environment_.get(), environment_->StartEpisode(step, index), id));
}

common::StatusOr<std::vector<EpisodeScore>> EnvEpisodeSource::Score(
    std::int64_t step, const std::vector<EpisodeSession*>& sessions) {
  std::vector<reward::Trajectory> trajectories;
  for (EpisodeSession* session : sessions) {
    trajectories.push_back(static_cast<EnvSession*>(session)->ToTrajectory());
  }
  GSPO_ASSIGN_OR_RETURN(std::vector<reward::RewardResult> results,
                        rewarder_->ScoreEpisodes(trajectories, {job_name_, step}));
  std::vector<EpisodeScore> scores;
  for (const reward::RewardResult& result : results) {
    EpisodeScore score;
    score.total = result.total;
    for (const auto& component : result.components) score.components[component.name] = component.value;
    scores.push_back(std::move(score));
  }
  return scores;
}

}  // namespace gspo::runner
