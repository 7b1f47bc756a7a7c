#include "worker/env/conversation_environment.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/config/spec_encoder.h"
#include "common/strings.h"
#include "worker/env/rule_based_user.h"
#include "worker/env/scenario_matching.h"
#include "worker/env/seed_mix.h"
#include "worker/env/text_match.h"

namespace gspo::env {
namespace {

// Salts that keep the counters' uses apart.
constexpr std::uint64_t kTaskDraw = 1;
constexpr std::uint64_t kScenarioDraw = 2;
constexpr std::uint64_t kEpisodeSeed = 3;

common::Status CheckOptions(const EnvironmentOptions& o) {
  std::vector<config::ConfigError> errors;
  if (o.scenarios.empty()) {
    errors.push_back({"", "environment.scenarios", "no scenarios to train on"});
  }
  if (o.scenarios.size() > kMaxScenarios) {
    errors.push_back({"", "environment.scenarios",
                      "expected at most " + std::to_string(kMaxScenarios) + " scenarios, got " +
                          std::to_string(o.scenarios.size())});
    return config::ErrorsToStatus(errors);
  }
  if (o.max_turns < kMinMaxTurns || o.max_turns > kMaxMaxTurns) {
    errors.push_back({"", "environment.max_turns",
                      "expected an integer between 1 and 64, got " + std::to_string(o.max_turns)});
  }
  if (o.system_prompt.size() > kMaxScenarioTextBytes) {
    errors.push_back({"", "environment.system_prompt",
                      "expected at most " + std::to_string(kMaxScenarioTextBytes) +
                          " characters, got " + std::to_string(o.system_prompt.size())});
  }
  std::map<std::string, const Scenario*> by_id;
  std::set<std::string> tasks;
  for (const Scenario& s : o.scenarios) {
    const std::string where = s.origin.empty() ? "scenario '" + s.id + "'" : s.origin;
    const WhereFn locate = [&where](const std::string&) { return where; };
    CheckScenario(s, "scenario", locate, &errors);
    auto [it, inserted] = by_id.emplace(s.id, &s);
    if (!inserted) {
      errors.push_back(
          {where, "scenario.id",
           common::QuoteForMessage(s.id) + " is already the id of the scenario at " +
               (it->second->origin.empty() ? "an earlier entry" : it->second->origin)});
    }
    tasks.insert(s.task);
  }
  for (const auto& [task, weight] : o.task_weights) {
    const std::string path = "environment.mixture." + task;
    if (!std::isfinite(weight) || !(weight > 0)) {
      errors.push_back({"", path, "expected a weight > 0, got " + config::FormatNumber(weight)});
    }
    if (!tasks.count(task)) errors.push_back({"", path, "no scenario has task " + task});
  }
  if (!o.task_weights.empty()) {
    for (const Scenario& s : o.scenarios) {
      if (o.task_weights.count(s.task)) continue;
      errors.push_back({s.origin, "scenario.task",
                        "scenario '" + s.id + "' has task " + s.task +
                            ", which has no weight in environment.mixture, so it would never be "
                            "picked"});
      break;
    }
  }
  return config::ErrorsToStatus(errors);
}

}  // namespace

common::StatusOr<std::unique_ptr<ConversationEnvironment>> ConversationEnvironment::Create(
    EnvironmentOptions options, std::unique_ptr<UserSimulator> user) {
  GSPO_RETURN_IF_ERROR(CheckOptions(options));
  if (user == nullptr) user = std::make_unique<RuleBasedUserSimulator>();
  return std::unique_ptr<ConversationEnvironment>(
      new ConversationEnvironment(std::move(options), std::move(user)));
}

ConversationEnvironment::ConversationEnvironment(EnvironmentOptions options,
                                                 std::unique_ptr<UserSimulator> user)
    : options_(std::move(options)), user_(std::move(user)) {
  if (options_.task_weights.empty()) return;
  double total = 0;
  for (const auto& [task, weight] : options_.task_weights) total += weight;
  double running = 0;
  for (const auto& [task, weight] : options_.task_weights) {
    running += weight / total;
    cumulative_.push_back(running);
    std::vector<std::size_t>& indices = task_scenarios_.emplace_back();
    for (std::size_t i = 0; i < options_.scenarios.size(); ++i) {
      if (options_.scenarios[i].task == task) indices.push_back(i);
    }
  }
  cumulative_.back() = 1.0;
}

const Scenario& ConversationEnvironment::SampleScenario(std::uint64_t step,
                                                        std::uint64_t index) const {
  const std::uint64_t seed = options_.seed;
  const std::uint64_t pick = MixSeed({seed, step, index, kScenarioDraw});
  if (cumulative_.empty()) return options_.scenarios[pick % options_.scenarios.size()];
  const double u = UnitInterval(MixSeed({seed, step, index, kTaskDraw}));
  const std::size_t task = static_cast<std::size_t>(
      std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
  const std::vector<std::size_t>& indices = task_scenarios_[std::min(task, cumulative_.size() - 1)];
  return options_.scenarios[indices[pick % indices.size()]];
}

std::uint64_t ConversationEnvironment::EpisodeSeed(std::uint64_t step, std::uint64_t index) const {
  return MixSeed({options_.seed, step, index, kEpisodeSeed});
}

Episode ConversationEnvironment::StartEpisode(const Scenario& scenario,
                                              std::uint64_t episode_seed) const {
  Episode episode;
  episode.scenario_ = &scenario;
  episode.seed_ = episode_seed;
  episode.max_turns_ = scenario.max_turns > 0 ? scenario.max_turns : options_.max_turns;
  const std::string& system =
      scenario.system_prompt.empty() ? options_.system_prompt : scenario.system_prompt;
  if (!system.empty()) episode.messages_.push_back({Role::kSystem, system, 0});
  std::string opening = SubstitutePlaceholders(
      scenario.opening_message, [&](const std::string& name) -> const std::string* {
        auto it = scenario.facts.find(name);
        return it == scenario.facts.end() ? nullptr : &it->second;
      });
  episode.messages_.push_back({Role::kUser, std::move(opening), 0});
  return episode;
}

Episode ConversationEnvironment::StartEpisode(std::uint64_t step, std::uint64_t index) const {
  return StartEpisode(SampleScenario(step, index), EpisodeSeed(step, index));
}

common::StatusOr<std::vector<StepResult>> ConversationEnvironment::StepBatch(
    const std::vector<Episode*>& episodes, const std::vector<std::string>& assistant_texts) const {
  if (episodes.size() != assistant_texts.size()) {
    return common::InvalidArgumentError("StepBatch: " + std::to_string(episodes.size()) +
                                        " episodes but " + std::to_string(assistant_texts.size()) +
                                        " assistant turns");
  }
  // Work on copies; commit only when the whole batch succeeded.
  std::vector<Episode> next;
  next.reserve(episodes.size());
  std::vector<StepResult> results(episodes.size());
  std::vector<std::size_t> waiting;  // indices that need a user turn
  for (std::size_t i = 0; i < episodes.size(); ++i) {
    if (episodes[i] == nullptr) return common::InvalidArgumentError("StepBatch: null episode");
    if (episodes[i]->done()) {
      return common::FailedPreconditionError(
          "episode of scenario '" + episodes[i]->scenario().id + "' has ended (" +
          std::string(EndReasonName(episodes[i]->end_reason())) + "); it takes no more turns");
    }
    Episode& e = next.emplace_back(*episodes[i]);
    e.messages_.push_back({Role::kAssistant, assistant_texts[i], 0});
    ++e.assistant_turns_;
    if (MeetsResolution(e.scenario(), assistant_texts[i])) {
      e.end_reason_ = EndReason::kResolved;
    } else if (e.assistant_turns_ >= e.max_turns_) {
      e.end_reason_ = EndReason::kMaxTurns;
    } else {
      waiting.push_back(i);
    }
  }
  if (!waiting.empty()) {
    std::vector<UserContext> contexts;
    for (std::size_t i : waiting) {
      Episode& e = next[i];
      contexts.push_back({e.scenario_, &e.messages_, &e.user_, e.seed_, e.assistant_turns_});
    }
    GSPO_ASSIGN_OR_RETURN(std::vector<UserTurn> turns, user_->NextTurns(contexts));
    if (turns.size() != waiting.size()) {
      return common::InternalError("user simulator '" + std::string(user_->name()) + "' gave " +
                                   std::to_string(turns.size()) + " turns for " +
                                   std::to_string(waiting.size()) + " episodes");
    }
    for (std::size_t k = 0; k < waiting.size(); ++k) {
      Episode& e = next[waiting[k]];
      if (!turns[k].text.empty()) {
        e.messages_.push_back({Role::kUser, std::move(turns[k].text), 0});
        results[waiting[k]].user_turn = e.messages_.back();
      }
      if (turns[k].ends) e.end_reason_ = EndReason::kUserEnded;
    }
  }
  for (std::size_t i = 0; i < episodes.size(); ++i) {
    *episodes[i] = std::move(next[i]);
    results[i].done = episodes[i]->done();
    results[i].end_reason = episodes[i]->end_reason();
  }
  return results;
}

common::StatusOr<StepResult> ConversationEnvironment::Step(Episode* episode,
                                                           std::string assistant_text) const {
  GSPO_ASSIGN_OR_RETURN(std::vector<StepResult> results,
                        StepBatch({episode}, {std::move(assistant_text)}));
  return results[0];
}

}  // namespace gspo::env
