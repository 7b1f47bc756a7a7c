// UserSimulator: who answers the agent. The environment asks it for the next user turn of each
// running episode after the agent has spoken (and the episode has not ended on resolution or
// max_turns).
//
//   RuleBasedUserSimulator  scripted replies and reply rules of the scenario, facts on request
//   LlmUserSimulator        a model plays the user, prompted with the persona; served by the
//                           rollout engine, which implements its generation
//
// The per-episode memory of a simulator lives in UserState inside the episode, so a branch of
// an episode (a copy) carries its own, and a simulator can serve many episodes.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/env/message.h"
#include "worker/env/scenario.h"

namespace gspo::env {

struct UserState {
  std::vector<bool> rules_fired;      // per scenario reply rule: a rule fires once per episode
  std::size_t next_scripted = 0;      // the next of the scenario's user_replies
  std::set<std::string> facts_given;  // fact names the user has given
};

// One episode waiting for its user turn. Pointers borrowed from the episode for the call.
struct UserContext {
  const Scenario* scenario = nullptr;
  const std::vector<Message>* messages = nullptr;  // the conversation; ends with the agent's turn
  UserState* state = nullptr;                      // updated by the simulator
  std::uint64_t seed = 0;                          // the episode's seed
  int assistant_turns = 0;                         // assistant turns so far
};

struct UserTurn {
  std::string text;   // the user's message; empty when the user leaves without a word
  bool ends = false;  // the user ends the conversation (after `text`, if any)
};

class UserSimulator {
 public:
  virtual ~UserSimulator() = default;

  // "rule_based", "llm": for logs.
  virtual std::string_view name() const = 0;

  // The next user turn of each context, in order. All or nothing: an error fails the whole
  // call (the step is retried or fails; no episode advances alone). Thread-safety is the
  // implementation's to state.
  virtual common::StatusOr<std::vector<UserTurn>> NextTurns(
      const std::vector<UserContext>& contexts) = 0;
};

}  // namespace gspo::env
