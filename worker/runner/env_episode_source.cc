#include "worker/runner/env_episode_source.h"

#include "worker/reward/trajectory.h"

namespace gspo::runner {
namespace {

class EnvSession : public EpisodeSession {
 public:
  EnvSession(env::Episode episode, std::string id) : episode_(std::move(episode)), id_(std::move(id)) {}

  void SetTokenCounts(std::int64_t prompt_tokens, std::int64_t completion_tokens) override {
    prompt_tokens_ = prompt_tokens;
    completion_tokens_ = completion_tokens;
  }

  env::Episode* episode() { return &episode_; }

  std::vector<std::pair<std::string, std::string>> Transcript() const override {
    std::vector<std::pair<std::string, std::string>> turns;
    for (const env::Message& m : episode_.messages()) turns.emplace_back(env::RoleName(m.role), m.content);
    return turns;
  }

  reward::Trajectory ToTrajectory() const {
    reward::Trajectory t = reward::TrajectoryFromEpisode(episode_, id_);
    t.num_prompt_tokens = static_cast<std::int32_t>(prompt_tokens_);
    t.num_completion_tokens = static_cast<std::int32_t>(completion_tokens_);
    return t;
  }

 private:
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
      new EnvSession(environment_->StartEpisode(step, index), id));
}

common::StatusOr<std::vector<std::optional<std::string>>> EnvEpisodeSource::UserReplies(
    const std::vector<EpisodeSession*>& sessions, const std::vector<std::string>& assistant_texts) {
  std::vector<env::Episode*> episodes;
  episodes.reserve(sessions.size());
  for (EpisodeSession* session : sessions) episodes.push_back(static_cast<EnvSession*>(session)->episode());
  GSPO_ASSIGN_OR_RETURN(std::vector<env::StepResult> results,
                        environment_->StepBatch(episodes, assistant_texts));
  std::vector<std::optional<std::string>> replies(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].done && results[i].user_turn) replies[i] = results[i].user_turn->content;
  }
  return replies;
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
