#include "worker/env/llm_user_simulator.h"

#include "common/strings.h"
#include "worker/env/scenario_matching.h"
#include "worker/env/seed_mix.h"

namespace gspo::env {
namespace {

constexpr std::uint64_t kUserModelDraw = 0x75736572;  // "user"

std::string Counterpart(const std::string& task) {
  if (task == "technical_support") return "a technical support specialist";
  if (task == "sales") return "a sales assistant";
  if (task == "customer_service") return "a customer service agent";
  return "an assistant";
}

}  // namespace

UserModelPrompt BuildUserModelPrompt(const Scenario& scenario,
                                     const std::vector<Message>& conversation) {
  std::string system = "You are role-playing a person talking to " + Counterpart(scenario.task) +
                       ". Stay in character and write only your own next message, in one to "
                       "three sentences.\n";
  if (!scenario.persona.empty()) system += "Who you are: " + scenario.persona + "\n";
  if (!scenario.facts.empty()) {
    system += "Details you know; give one only when you are asked for it:\n";
    for (const auto& [name, value] : scenario.facts) system += "- " + name + ": " + value + "\n";
  }
  system +=
      "Never invent details that are not listed. When your issue is resolved, or you want "
      "to leave, end your message with " +
      std::string(kUserEndMarker) + ".\n";

  UserModelPrompt prompt;
  bool opening_seen = false;
  for (const Message& m : conversation) {
    if (m.role == Role::kSystem) continue;
    if (m.role == Role::kUser && !opening_seen) {
      opening_seen = true;
      system += "You started the conversation with this message:\n" + m.content;
      continue;
    }
    // The agent's turns are the user model's input, the user's turns its own earlier output.
    prompt.messages.push_back(
        {m.role == Role::kAssistant ? Role::kUser : Role::kAssistant, m.content, 0});
  }
  prompt.messages.insert(prompt.messages.begin(), Message{Role::kSystem, system, 0});
  return prompt;
}

UserTurn ParseUserModelReply(std::string_view reply) {
  UserTurn turn;
  std::string text(reply);
  for (std::size_t at = text.find(kUserEndMarker); at != std::string::npos;
       at = text.find(kUserEndMarker)) {
    text.erase(at, kUserEndMarker.size());
    turn.ends = true;
  }
  turn.text = common::Trim(text);
  if (turn.text.empty()) turn.ends = true;
  return turn;
}

common::StatusOr<std::vector<UserTurn>> LlmUserSimulator::NextTurns(
    const std::vector<UserContext>& contexts) {
  std::vector<UserModelPrompt> prompts;
  prompts.reserve(contexts.size());
  for (const UserContext& context : contexts) {
    if (context.scenario == nullptr || context.messages == nullptr || context.state == nullptr) {
      return common::InvalidArgumentError("user simulator: a context without its episode");
    }
    prompts.push_back(BuildUserModelPrompt(*context.scenario, *context.messages));
    prompts.back().seed =
        MixSeed({context.seed, static_cast<std::uint64_t>(context.assistant_turns), kUserModelDraw});
  }
  GSPO_ASSIGN_OR_RETURN(std::vector<std::string> replies, GenerateUserTexts(prompts));
  if (replies.size() != contexts.size()) {
    return common::InternalError("user model returned " + std::to_string(replies.size()) +
                                 " replies for " + std::to_string(contexts.size()) + " prompts");
  }
  std::vector<UserTurn> turns;
  turns.reserve(replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    turns.push_back(ParseUserModelReply(replies[i]));
    for (const std::string& name : MentionedFacts(*contexts[i].scenario, turns.back().text)) {
      contexts[i].state->facts_given.insert(name);
    }
  }
  return turns;
}

}  // namespace gspo::env
