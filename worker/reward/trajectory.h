// Trajectory: one finished (or running) conversation as the rewards see it: its text turns,
// the scenario it played, why it ended and its token counts.
//
// Plain value type. `scenario` is borrowed from the environment that produced the episode,
// which must outlive the trajectory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "worker/env/conversation_environment.h"
#include "worker/env/message.h"
#include "worker/env/scenario.h"

namespace gspo::reward {

struct Trajectory {
  std::string id;  // unique within a batch, for logs and remote scoring
  const env::Scenario* scenario = nullptr;
  std::vector<env::Message> messages;
  env::EndReason end_reason = env::EndReason::kRunning;
  std::int32_t num_prompt_tokens = 0;      // tokens the policy was given; 0 when unknown
  std::int32_t num_completion_tokens = 0;  // tokens the policy generated; 0 when unknown
};

// The episode's turns, scenario and end reason (token counts are left 0 for the caller).
Trajectory TrajectoryFromEpisode(const env::Episode& episode, std::string id);

// Indices of the assistant messages, in order.
std::vector<std::size_t> AssistantTurns(const Trajectory& trajectory);

// The last user message before messages[index], or "" when there is none.
const std::string& PreviousUserMessage(const Trajectory& trajectory, std::size_t index);

}  // namespace gspo::reward
