// LlmUserSimulator: a model plays the user. The model is served by the rollout engine (a second
// model, or the policy's base model with its adapters switched off), which implements
// GenerateUserTexts; this class builds the prompts and reads the replies.
//
// The user model sees the conversation from the user's side:
//   system     how to behave: the persona, the opening message it already sent, the facts it
//              knows (to give only when asked), and to write kUserEndMarker to end;
//   user       each agent turn;
//   assistant  each of the user's own later turns.
// So the list alternates user/assistant starting with the agent's first reply, as every chat
// template requires, and ends with the agent's latest turn (the model writes the next one).
//
// Thread-safety: NextTurns is as thread-safe as the subclass's GenerateUserTexts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/env/message.h"
#include "worker/env/scenario.h"
#include "worker/env/user_simulator.h"

namespace gspo::env {

// Written by the user model, alone or at the end of its message, to end the conversation.
inline constexpr std::string_view kUserEndMarker = "[END]";

struct UserModelPrompt {
  std::vector<Message> messages;
  // For the user model's sampling: a function of the episode's seed and turn, so a batch of
  // prompts is drawn the same way every time the run is repeated.
  std::uint64_t seed = 0;
};

// The user model's prompt for the next user turn of `conversation` (system prompt, opening
// message, then alternating agent and user turns; it must end with an agent turn).
UserModelPrompt BuildUserModelPrompt(const Scenario& scenario,
                                     const std::vector<Message>& conversation);

// The user's turn in the model's reply: the text without kUserEndMarker, trimmed, and whether
// the marker was there. An empty reply ends the conversation too.
UserTurn ParseUserModelReply(std::string_view reply);

class LlmUserSimulator : public UserSimulator {
 public:
  std::string_view name() const override { return "llm"; }

  // Builds one prompt per context, generates them in one batch, parses the replies, and marks
  // facts whose values the user mentioned as given.
  common::StatusOr<std::vector<UserTurn>> NextTurns(const std::vector<UserContext>& contexts) final;

 protected:
  // One reply text per prompt, in order: the user model's continuation of each prompt as an
  // assistant turn. Implemented by the rollout engine, which batches the prompts.
  virtual common::StatusOr<std::vector<std::string>> GenerateUserTexts(
      const std::vector<UserModelPrompt>& prompts) = 0;
};

}  // namespace gspo::env
