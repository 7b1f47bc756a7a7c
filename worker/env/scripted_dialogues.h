// ScriptedDialogues: conversations a competent agent could have in an environment's scenarios,
// played against the environment itself, for the supervised warm start of a small model
// (`gspo make-sft-data`). The user turns are the simulated user's own (rule-based replies, fact
// answers), so the model learns the dialogues it will meet in GSPO rollouts.
//
// Per scenario, `per_scenario` conversations; conversation k is, by the parity of k:
//   even: the agent answers the opening with the scenario's reference answer;
//   odd (scenarios with facts and max_turns >= 2): the agent first acknowledges the problem
//        and asks for one of the facts, the simulated user answers, then the agent gives the
//        reference answer.
// Each agent turn may open with an acknowledgement and close with a courtesy line, drawn from
// small fixed lists by the seed: the warm-started model is deliberately uneven in tone, which
// is what GSPO's rewards then sort out. Scenarios without a reference are skipped.
// A pure function of the environment, the options and the seed; safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/env/conversation_environment.h"
#include "worker/env/message.h"

namespace gspo::env {

struct ScriptedDialogueOptions {
  int per_scenario = 4;
  std::uint64_t seed = 0;
};

// Conversations of [system,] user, assistant, ... ending with an assistant turn, scenario by
// scenario. kInvalidArgument when per_scenario < 1 or no scenario has a reference.
common::StatusOr<std::vector<std::vector<Message>>> ScriptedDialogues(
    const ConversationEnvironment& environment, const ScriptedDialogueOptions& options);

}  // namespace gspo::env
