#include "worker/reward/trajectory.h"

namespace gspo::reward {

Trajectory TrajectoryFromEpisode(const env::Episode& episode, std::string id) {
  Trajectory t;
  t.id = std::move(id);
  t.scenario = &episode.scenario();
  t.messages = episode.messages();
  t.end_reason = episode.end_reason();
  return t;
}

std::vector<std::size_t> AssistantTurns(const Trajectory& trajectory) {
  std::vector<std::size_t> turns;
  for (std::size_t i = 0; i < trajectory.messages.size(); ++i) {
    if (trajectory.messages[i].role == env::Role::kAssistant) turns.push_back(i);
  }
  return turns;
}

const std::string& PreviousUserMessage(const Trajectory& trajectory, std::size_t index) {
  static const std::string* empty = new std::string;
  for (std::size_t i = std::min(index, trajectory.messages.size()); i-- > 0;) {
    if (trajectory.messages[i].role == env::Role::kUser) return trajectory.messages[i].content;
  }
  return *empty;
}

}  // namespace gspo::reward
