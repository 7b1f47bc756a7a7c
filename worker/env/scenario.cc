#include "worker/env/scenario.h"

#include <algorithm>

#include "common/strings.h"
#include "worker/env/message.h"
#include "worker/env/text_match.h"

namespace gspo::env {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool IsFactName(const std::string& name) {
  if (name.empty() || name.front() == '_' || name.back() == '_') return false;
  return std::all_of(name.begin(), name.end(), IsPlaceholderChar);
}

class Checker {
 public:
  Checker(const WhereFn& where, std::vector<config::ConfigError>* errors)
      : where_(where), errors_(errors) {}
  void Fail(const std::string& path, const std::string& message) {
    errors_->push_back({where_(path), path, message});
  }
  void MaxBytes(const std::string& path, const std::string& text) {
    if (text.size() <= kMaxScenarioTextBytes) return;
    Fail(path, "expected at most " + std::to_string(kMaxScenarioTextBytes) + " characters, got " +
                   std::to_string(text.size()));
  }
  void Phrases(const std::string& path, const std::vector<std::string>& phrases) {
    for (std::size_t i = 0; i < phrases.size(); ++i) {
      if (Words(phrases[i]).empty()) {
        Fail(
            path + "[" + std::to_string(i) + "]",
            "expected a phrase with at least one word, got " + common::QuoteForMessage(phrases[i]));
      }
    }
  }
  // Every "{name}" in `text` names a fact.
  void Placeholders(const std::string& path, const std::string& text,
                    const std::map<std::string, std::string>& facts) {
    std::vector<std::string> names;
    for (const auto& [name, value] : facts) names.push_back(name);
    for (const std::string& name : PlaceholderNames(text)) {
      if (facts.count(name)) continue;
      std::string message = "'{" + name + "}' names no fact; ";
      message += names.empty() ? "the scenario has no facts"
                               : "the facts are " + common::Join(names, ", ");
      if (auto close = common::ClosestMatch(name, names))
        message += " (did you mean '" + *close + "'?)";
      Fail(path, message);
    }
  }

 private:
  const WhereFn& where_;
  std::vector<config::ConfigError>* errors_;
};

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSystem:
      return "system";
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
  }
  return "user";
}

std::string_view EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kRunning:
      return "running";
    case EndReason::kResolved:
      return "resolved";
    case EndReason::kUserEnded:
      return "user_ended";
    case EndReason::kMaxTurns:
      return "max_turns";
  }
  return "running";
}

const std::vector<std::string>& KnownScenarioTasks() {
  static const auto* v =
      new std::vector<std::string>{"customer_service", "technical_support", "sales", "custom"};
  return *v;
}

const std::vector<std::string>& ScenarioKeys() {
  static const auto* v = new std::vector<std::string>{
      "id",         "task",      "system_prompt", "opening_message", "persona",     "facts",
      "resolution", "forbidden", "reference",     "user_replies",    "reply_rules", "max_turns"};
  return *v;
}

const std::vector<std::string>& ReplyRuleKeys() {
  static const auto* v = new std::vector<std::string>{"when_agent_says", "reply", "end"};
  return *v;
}

std::string TaskNameError(const std::string& task) {
  const std::vector<std::string>& tasks = KnownScenarioTasks();
  if (std::find(tasks.begin(), tasks.end(), task) != tasks.end()) return "";
  std::string message =
      "expected one of " + common::Join(tasks, ", ") + "; got " + common::QuoteForMessage(task);
  if (auto close = common::ClosestMatch(task, tasks))
    message += " (did you mean '" + *close + "'?)";
  return message;
}

void CheckScenario(const Scenario& s, const std::string& path, const WhereFn& where,
                   std::vector<config::ConfigError>* errors) {
  Checker c(where, errors);
  if (s.id.empty()) {
    c.Fail(path + ".id", "required: a unique name for the scenario, e.g. late-delivery");
  } else if (s.id.size() > kMaxScenarioIdChars ||
             !std::all_of(s.id.begin(), s.id.end(), IsIdChar)) {
    c.Fail(path + ".id", "expected 1 to " + std::to_string(kMaxScenarioIdChars) +
                             " letters, digits, '-', '_' or '.', got " +
                             common::QuoteForMessage(s.id));
  }
  if (s.task.empty()) {
    c.Fail(path + ".task", "required: one of " + common::Join(KnownScenarioTasks(), ", "));
  } else if (std::string problem = TaskNameError(s.task); !problem.empty()) {
    c.Fail(path + ".task", problem);
  }
  if (common::Trim(s.opening_message).empty()) {
    c.Fail(path + ".opening_message", "required: the user's first message");
  }
  if (s.max_turns != 0 && (s.max_turns < kMinMaxTurns || s.max_turns > kMaxMaxTurns)) {
    c.Fail(path + ".max_turns", "expected an integer between " + std::to_string(kMinMaxTurns) +
                                    " and " + std::to_string(kMaxMaxTurns) + ", got " +
                                    std::to_string(s.max_turns));
  }
  c.MaxBytes(path + ".system_prompt", s.system_prompt);
  c.MaxBytes(path + ".opening_message", s.opening_message);
  c.MaxBytes(path + ".persona", s.persona);
  c.MaxBytes(path + ".reference", s.reference);
  for (const auto& [name, value] : s.facts) {
    const std::string fact_path = path + ".facts." + name;
    if (!IsFactName(name)) {
      c.Fail(fact_path,
             "expected a fact name of lower-case letters, digits and '_' (order_number), "
             "got " +
                 common::QuoteForMessage(name));
    }
    if (common::Trim(value).empty()) c.Fail(fact_path, "expected a value, got ''");
    c.MaxBytes(fact_path, value);
  }
  c.Phrases(path + ".resolution", s.resolution);
  c.Phrases(path + ".forbidden", s.forbidden);
  c.Placeholders(path + ".opening_message", s.opening_message, s.facts);
  for (std::size_t i = 0; i < s.user_replies.size(); ++i) {
    const std::string reply_path = path + ".user_replies[" + std::to_string(i) + "]";
    if (common::Trim(s.user_replies[i]).empty()) c.Fail(reply_path, "expected a message, got ''");
    c.MaxBytes(reply_path, s.user_replies[i]);
    c.Placeholders(reply_path, s.user_replies[i], s.facts);
  }
  for (std::size_t i = 0; i < s.reply_rules.size(); ++i) {
    const ReplyRule& rule = s.reply_rules[i];
    const std::string rule_path = path + ".reply_rules[" + std::to_string(i) + "]";
    if (rule.when_agent_says.empty()) {
      c.Fail(rule_path + ".when_agent_says",
             "required: the phrases of the agent that trigger this reply, e.g. [\"order number\"]");
    }
    c.Phrases(rule_path + ".when_agent_says", rule.when_agent_says);
    if (common::Trim(rule.reply).empty())
      c.Fail(rule_path + ".reply", "required: what the user answers");
    c.MaxBytes(rule_path + ".reply", rule.reply);
    c.Placeholders(rule_path + ".reply", rule.reply, s.facts);
  }
  // A resolution condition that needs a forbidden phrase could never be met within the rules.
  for (std::size_t i = 0; i < s.resolution.size(); ++i) {
    const std::vector<Token> condition = Tokenize(s.resolution[i]);
    for (std::size_t k = 0; k < s.forbidden.size(); ++k) {
      if (!ContainsPhrase(condition, Words(s.forbidden[k]))) continue;
      c.Fail(path + ".resolution[" + std::to_string(i) + "]",
             "contains the forbidden phrase " + common::QuoteForMessage(s.forbidden[k]) +
                 " (forbidden[" + std::to_string(k) +
                 "]): the case could not be resolved without breaking the rule");
    }
  }
}

}  // namespace gspo::env
