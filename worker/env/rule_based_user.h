// RuleBasedUserSimulator: a deterministic simulated user driven by the scenario.
//
// After each agent turn it answers with the first of these that applies:
//   1. a reply rule not yet fired whose `when_agent_says` phrases occur in the agent's message
//      (not negated), in the scenario's order; the rule's `end` ends the conversation;
//   2. the facts the agent asks for (scenario_matching.h RequestedFacts), all in one message;
//   3. the next scripted `user_replies` entry;
//   4. nothing: the user leaves (the episode ends as user_ended, without a further message).
// "{fact}" placeholders in replies are replaced by the facts' values. The wording of fact
// answers varies with the episode's seed and turn, so episodes are reproducible for a seed.
//
// Stateless (the memory is the episode's UserState): safe to use from many threads.
#pragma once

#include "worker/env/user_simulator.h"

namespace gspo::env {

class RuleBasedUserSimulator : public UserSimulator {
 public:
  std::string_view name() const override { return "rule_based"; }

  // The user's reply to the agent's last message in `context`.
  UserTurn NextTurn(const UserContext& context) const;

  common::StatusOr<std::vector<UserTurn>> NextTurns(
      const std::vector<UserContext>& contexts) override;
};

// How the simulated user gives facts: "It's A-1042." for one fact (one of a few wordings chosen
// by `variant`), "Sure: the order number is A-1042, and the email is ann@example.com." for
// several; "As I said, ..." before facts given earlier in the episode.
std::string FactAnswer(const Scenario& scenario, const std::vector<std::string>& names,
                       const std::set<std::string>& already_given, std::uint64_t variant);

}  // namespace gspo::env
