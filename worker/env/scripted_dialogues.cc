#include "worker/env/scripted_dialogues.h"

#include <algorithm>
#include <string>

#include "worker/env/seed_mix.h"

namespace gspo::env {
namespace {

// Acknowledgements that may open an agent turn ("" leaves the turn as it is).
constexpr const char* kOpeners[] = {"",
                                    "",
                                    "I'm sorry to hear that.",
                                    "Thank you for reaching out.",
                                    "I understand how frustrating this is.",
                                    "Thanks for letting me know."};
// Courtesy lines that may close the final answer.
constexpr const char* kClosings[] = {"", "", "Is there anything else I can help you with?",
                                     "Thank you for your patience.", "Have a great day."};
// Ways to ask for a fact; "%s" is the fact's name in words ("order number").
constexpr const char* kQuestions[] = {"Could you please tell me your %s?",
                                      "Can you share the %s, please?", "May I have your %s?",
                                      "Please confirm the %s so I can check."};

template <std::size_t N>
std::string Pick(const char* const (&list)[N], std::uint64_t bits) {
  return list[bits % N];
}

std::string JoinSentences(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + " " + b;
}

std::string Ask(const std::string& fact_name, std::uint64_t bits) {
  std::string words = fact_name;
  std::replace(words.begin(), words.end(), '_', ' ');
  std::string question = Pick(kQuestions, bits);
  question.replace(question.find("%s"), 2, words);
  return question;
}

}  // namespace

common::StatusOr<std::vector<std::vector<Message>>> ScriptedDialogues(
    const ConversationEnvironment& environment, const ScriptedDialogueOptions& options) {
  if (options.per_scenario < 1) {
    return common::InvalidArgumentError("per_scenario: expected at least 1, got " +
                                        std::to_string(options.per_scenario));
  }
  std::vector<std::vector<Message>> out;
  const std::vector<Scenario>& scenarios = environment.scenarios();
  for (std::size_t s = 0; s < scenarios.size(); ++s) {
    const Scenario& scenario = scenarios[s];
    if (scenario.reference.empty()) continue;
    for (int k = 0; k < options.per_scenario; ++k) {
      const std::uint64_t seed = MixSeed({options.seed, s, static_cast<std::uint64_t>(k)});
      Episode episode = environment.StartEpisode(scenario, seed);
      const bool ask = k % 2 == 1 && !scenario.facts.empty() && episode.max_turns() >= 2;
      const std::string opener = Pick(kOpeners, MixSeed({seed, 1}));
      const std::string answer =
          JoinSentences(scenario.reference, Pick(kClosings, MixSeed({seed, 2})));
      if (ask) {
        auto fact = scenario.facts.begin();
        std::advance(fact, MixSeed({seed, 3}) % scenario.facts.size());
        GSPO_ASSIGN_OR_RETURN(
            StepResult first,
            environment.Step(&episode,
                             JoinSentences(opener, Ask(fact->first, MixSeed({seed, 4})))));
        // A question that ends the conversation (a reply rule with `end`) teaches nothing useful.
        if (first.done) continue;
        GSPO_RETURN_IF_ERROR(environment.Step(&episode, answer).status());
      } else {
        GSPO_RETURN_IF_ERROR(environment.Step(&episode, JoinSentences(opener, answer)).status());
      }
      std::vector<Message> messages = episode.messages();
      // A reply rule may answer the final turn with a parting message: not a turn to learn.
      while (!messages.empty() && messages.back().role != Role::kAssistant) messages.pop_back();
      out.push_back(std::move(messages));
    }
  }
  if (out.empty()) {
    return common::InvalidArgumentError("no scenario has a reference answer to learn from");
  }
  return out;
}

}  // namespace gspo::env
