// ConversationEnvironment: the multi-turn conversation tasks a policy is trained on.
//
//   SampleScenario(step, i) ─▶ StartEpisode ─▶ [system prompt, opening user message]
//        policy writes an assistant turn ─▶ Step / StepBatch ─▶ resolved? max_turns? else the
//        simulated user's next turn (or the user leaves) ─▶ ... until done
//
// Every choice is a pure function of the seed and counters (seed_mix.h): the scenario of
// prompt i of step s, and the wording of the simulated user, so episodes are reproducible for a
// seed on any rank. The environment produces text turns; the caller turns them into tokens (the
// token-in/token-out episode is built elsewhere from these turns).
//
// Ownership: the environment owns its scenarios and its user simulator; an Episode borrows its
// scenario, so the environment must outlive its episodes. Thread-safety: immutable after
// Create; StartEpisode and SampleScenario are safe from any thread, and Step/StepBatch are as
// thread-safe as the user simulator (the rule-based one is). An Episode is a value: copying one
// makes a branch (the G samples of a prompt share the start and then diverge).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/env/message.h"
#include "worker/env/scenario.h"
#include "worker/env/user_simulator.h"

namespace gspo::env {

struct EnvironmentOptions {
  std::vector<Scenario> scenarios;
  // Relative weight of each task (a job's environment.mixture; need not sum to 1). Empty: every
  // scenario is equally likely. Set: a task is drawn by weight, then one of its scenarios
  // uniformly; every weighted task needs a scenario and every scenario's task a weight.
  std::map<std::string, double> task_weights;
  std::string system_prompt;  // for scenarios that set none
  int max_turns = 4;          // for scenarios that set none
  std::uint64_t seed = 42;
};

class Episode {
 public:
  const Scenario& scenario() const { return *scenario_; }
  // The system prompt (when not empty), the opening user message, then alternating assistant
  // and user turns.
  const std::vector<Message>& messages() const { return messages_; }
  int assistant_turns() const { return assistant_turns_; }
  int max_turns() const { return max_turns_; }
  bool done() const { return end_reason_ != EndReason::kRunning; }
  EndReason end_reason() const { return end_reason_; }
  std::uint64_t seed() const { return seed_; }
  const UserState& user_state() const { return user_; }

 private:
  friend class ConversationEnvironment;
  const Scenario* scenario_ = nullptr;
  std::vector<Message> messages_;
  UserState user_;
  int assistant_turns_ = 0;
  int max_turns_ = 0;
  EndReason end_reason_ = EndReason::kRunning;
  std::uint64_t seed_ = 0;
};

struct StepResult {
  bool done = false;
  EndReason end_reason = EndReason::kRunning;
  // The user turn that was appended, if any: the next prompt's new text while the episode runs,
  // or the user's parting message when a reply rule ends it.
  std::optional<Message> user_turn;
};

class ConversationEnvironment {
 public:
  // Checks the options (every scenario with CheckScenario, unique ids, weights) and takes
  // them. `user` defaults to a RuleBasedUserSimulator.
  static common::StatusOr<std::unique_ptr<ConversationEnvironment>> Create(
      EnvironmentOptions options, std::unique_ptr<UserSimulator> user = nullptr);

  const std::vector<Scenario>& scenarios() const { return options_.scenarios; }
  const EnvironmentOptions& options() const { return options_; }
  UserSimulator& user_simulator() const { return *user_; }
  // Hands the users to `user` (non-null), e.g. a model-backed simulator built once the model is
  // loaded. Call before the first Step; not thread-safe.
  void ReplaceUserSimulator(std::unique_ptr<UserSimulator> user) { user_ = std::move(user); }

  // The scenario of prompt `index` of step `step`.
  const Scenario& SampleScenario(std::uint64_t step, std::uint64_t index) const;
  // The seed of that prompt's episodes.
  std::uint64_t EpisodeSeed(std::uint64_t step, std::uint64_t index) const;

  // A new episode of `scenario`, which must be one of scenarios().
  Episode StartEpisode(const Scenario& scenario, std::uint64_t episode_seed) const;
  // SampleScenario(step, index) started with EpisodeSeed(step, index).
  Episode StartEpisode(std::uint64_t step, std::uint64_t index) const;

  // Appends assistant_texts[i] to episodes[i] and ends it when the text meets a resolution
  // condition (resolved) or was its last turn (max_turns); the others get their user turn from
  // the simulator in one batch, or end when the user leaves. All or nothing: on an error no
  // episode changes. Stepping an episode that is done is an error.
  common::StatusOr<std::vector<StepResult>> StepBatch(
      const std::vector<Episode*>& episodes, const std::vector<std::string>& assistant_texts) const;
  common::StatusOr<StepResult> Step(Episode* episode, std::string assistant_text) const;

 private:
  ConversationEnvironment(EnvironmentOptions options, std::unique_ptr<UserSimulator> user);

  EnvironmentOptions options_;
  std::unique_ptr<UserSimulator> user_;
  // Sampling tables: with task weights, cumulative normalized weights and each task's
  // scenario indices; without, unused.
  std::vector<double> cumulative_;
  std::vector<std::vector<std::size_t>> task_scenarios_;
};

}  // namespace gspo::env
