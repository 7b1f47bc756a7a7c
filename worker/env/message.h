// Text turns of a conversation: what the environment produces and the rewards score. The
// token-in/token-out building of the policy's input is done on these turns elsewhere; nothing
// here knows about tokens except the optional count a tokenizing caller may record.
//
// Plain value types; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gspo::env {

enum class Role { kSystem, kUser, kAssistant };

// "system", "user", "assistant".
std::string_view RoleName(Role role);

struct Message {
  Role role = Role::kUser;
  std::string content;
  // Tokens of `content` in the policy's chat format, for whoever tokenized it; 0 when unknown.
  std::int32_t num_tokens = 0;
};

// Why an episode ended; kRunning while it has not.
enum class EndReason {
  kRunning,
  kResolved,   // an assistant turn met one of the scenario's resolution conditions
  kUserEnded,  // the simulated user left (a reply rule with `end`, or nothing left to say)
  kMaxTurns,   // the assistant used its last turn
};

// "running", "resolved", "user_ended", "max_turns".
std::string_view EndReasonName(EndReason reason);

}  // namespace gspo::env
