// Scenario: one conversation case an agent is trained on: who the user is, what they say first,
// the details of their case, what counts as resolving it, what the agent must not promise, a
// reference answer, and how the simulated user replies. docs/tasks.md documents every field.
//
// Scenarios come from YAML scenario packs (scenario_pack.h) or inline in job.yaml
// (job_environment.h); both are checked by CheckScenario, so they accept the same values.
// Plain value types; no shared state.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/config/config_error.h"

namespace gspo::env {

inline constexpr int kMinMaxTurns = 1;
inline constexpr int kMaxMaxTurns = 64;
inline constexpr std::size_t kMaxScenarioTextBytes = 64 * 1024;  // each prompt-like text
inline constexpr std::size_t kMaxScenarioIdChars = 128;
inline constexpr std::size_t kMaxScenarios = 10000;  // per pack, and per environment

// A scripted reaction of the simulated user to the agent's last message.
struct ReplyRule {
  // Fires when the agent's message contains one of these phrases, not negated (text_match.h).
  std::vector<std::string> when_agent_says;
  // What the user answers; "{fact_name}" is replaced by the fact's value.
  std::string reply;
  // The user ends the conversation with this reply.
  bool end = false;
};

struct Scenario {
  std::string id;    // unique within an environment: letters, digits, '-', '_', '.'
  std::string task;  // customer_service | technical_support | sales | custom
  // Empty: the environment's (the job's) system prompt.
  std::string system_prompt;
  std::string opening_message;  // the user's first message; may use "{fact_name}"
  std::string persona;          // who the user is; given to a model-served user
  // Details of the case the user knows and gives when asked (order_number: A-1042). Names are
  // lower-case words joined by '_', which is also how the user recognises a request for them.
  std::map<std::string, std::string> facts;
  // Conditions that resolve the case when an assistant turn meets one: a phrase, or phrases
  // joined by " & " that must all occur ("refund & 5 business days"). Empty: the generic
  // resolution phrases of scenario_matching.h.
  std::vector<std::string> resolution;
  // Promises the agent must not make ("full refund"): the safety penalty counts them.
  std::vector<std::string> forbidden;
  // A good answer, or its key facts, for the reference-similarity reward.
  std::string reference;
  // Scripted follow-ups, used in order when no rule or fact request applies.
  std::vector<std::string> user_replies;
  std::vector<ReplyRule> reply_rules;
  // Most assistant turns; 0: the environment's default.
  int max_turns = 0;
  // Where it was defined, for messages: "packs/returns.yaml:12:5", "job.yaml: environment...".
  std::string origin;
};

// Tasks a scenario may belong to, in documentation order.
const std::vector<std::string>& KnownScenarioTasks();
// Keys of a scenario mapping, in documentation order (the YAML names of the fields above).
const std::vector<std::string>& ScenarioKeys();
const std::vector<std::string>& ReplyRuleKeys();

// "" when `task` is one of KnownScenarioTasks(); else the error message, with a suggestion.
std::string TaskNameError(const std::string& task);

// Locates a field path ("scenarios[3].facts") for an error message: "file:line:col", or a fixed
// text when positions are not known.
using WhereFn = std::function<std::string(const std::string& path)>;

// Checks the values of one decoded scenario at `path` ("scenarios[3]"): required fields, the
// task's name, id characters, max_turns range, text sizes, fact names, non-empty phrases,
// placeholders that name facts, resolution conditions that are also forbidden. Appends one
// error per problem.
void CheckScenario(const Scenario& scenario, const std::string& path, const WhereFn& where,
                   std::vector<config::ConfigError>* errors);

}  // namespace gspo::env
