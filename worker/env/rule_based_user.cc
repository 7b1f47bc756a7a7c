#include "worker/env/rule_based_user.h"

#include "common/strings.h"
#include "worker/env/scenario_matching.h"
#include "worker/env/seed_mix.h"
#include "worker/env/text_match.h"

namespace gspo::env {
namespace {

std::string Spoken(const std::string& fact_name) {
  std::string out = fact_name;
  for (char& c : out) {
    if (c == '_') c = ' ';
  }
  return out;
}

// Replaces placeholders and records the facts they give.
std::string Fill(const Scenario& scenario, const std::string& text, UserState* state) {
  for (const std::string& name : PlaceholderNames(text)) {
    if (scenario.facts.count(name)) state->facts_given.insert(name);
  }
  return SubstitutePlaceholders(text, [&](const std::string& name) -> const std::string* {
    auto it = scenario.facts.find(name);
    return it == scenario.facts.end() ? nullptr : &it->second;
  });
}

const std::string& LastAgentMessage(const UserContext& context) {
  static const std::string* empty = new std::string;
  for (auto it = context.messages->rbegin(); it != context.messages->rend(); ++it) {
    if (it->role == Role::kAssistant) return it->content;
  }
  return *empty;
}

}  // namespace

std::string FactAnswer(const Scenario& scenario, const std::vector<std::string>& names,
                       const std::set<std::string>& already_given, std::uint64_t variant) {
  bool repeated = true;
  for (const std::string& name : names) repeated = repeated && already_given.count(name) > 0;
  const std::string prefix = repeated ? "As I said, " : "";
  if (names.size() == 1) {
    const std::string& value = scenario.facts.at(names[0]);
    const std::string spoken = Spoken(names[0]);
    if (repeated) return prefix + "the " + spoken + " is " + value + ".";
    switch (variant % 3) {
      case 0:
        return "It's " + value + ".";
      case 1:
        return "Sure, the " + spoken + " is " + value + ".";
      default:
        return "My " + spoken + " is " + value + ".";
    }
  }
  std::vector<std::string> parts;
  for (const std::string& name : names) {
    parts.push_back("the " + Spoken(name) + " is " + scenario.facts.at(name));
  }
  std::string joined;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) joined += (i + 1 == parts.size()) ? ", and " : ", ";
    joined += parts[i];
  }
  return (repeated ? prefix : std::string("Sure: ")) + joined + ".";
}

UserTurn RuleBasedUserSimulator::NextTurn(const UserContext& context) const {
  const Scenario& scenario = *context.scenario;
  UserState& state = *context.state;
  const std::string& agent = LastAgentMessage(context);
  const std::vector<Token> tokens = Tokenize(agent);

  state.rules_fired.resize(scenario.reply_rules.size(), false);
  for (std::size_t i = 0; i < scenario.reply_rules.size(); ++i) {
    const ReplyRule& rule = scenario.reply_rules[i];
    if (state.rules_fired[i]) continue;
    bool fires = false;
    for (const std::string& phrase : rule.when_agent_says) {
      fires = fires || ContainsAffirmed(tokens, Words(phrase));
    }
    if (!fires) continue;
    state.rules_fired[i] = true;
    return {Fill(scenario, rule.reply, &state), rule.end};
  }

  const std::vector<std::string> asked = RequestedFacts(scenario, agent);
  if (!asked.empty()) {
    const std::uint64_t variant =
        MixSeed({context.seed, static_cast<std::uint64_t>(context.assistant_turns), 0xFAC7});
    std::string text = FactAnswer(scenario, asked, state.facts_given, variant);
    state.facts_given.insert(asked.begin(), asked.end());
    return {std::move(text), false};
  }

  if (state.next_scripted < scenario.user_replies.size()) {
    return {Fill(scenario, scenario.user_replies[state.next_scripted++], &state), false};
  }
  return {"", true};
}

common::StatusOr<std::vector<UserTurn>> RuleBasedUserSimulator::NextTurns(
    const std::vector<UserContext>& contexts) {
  std::vector<UserTurn> turns;
  turns.reserve(contexts.size());
  for (const UserContext& context : contexts) {
    if (context.scenario == nullptr || context.messages == nullptr || context.state == nullptr) {
      return common::InvalidArgumentError("user simulator: a context without its episode");
    }
    turns.push_back(NextTurn(context));
  }
  return turns;
}

}  // namespace gspo::env
