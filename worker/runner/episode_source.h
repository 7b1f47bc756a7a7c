// What the training loop needs from the conversation environment and the rewards, in text:
// episode openings for a step, the simulated user's replies to the assistant, and a score per
// finished conversation. The loop turns text into ids token-in/token-out (EpisodeBuilder).
// Implementations must be deterministic for (seed, step, index) so that a resumed run repeats
// an uninterrupted one.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gspo::runner {

struct EpisodeOpening {
  std::string scenario_id;
  std::string task;
  std::string system_prompt;
  std::string user_message;
  std::int64_t max_turns = 1;  // assistant turns
};

struct EpisodeScore {
  double total = 0;
  std::map<std::string, double> components;  // each in [0, 1]
};

// One conversation branch. Not thread-safe.
class EpisodeSession {
 public:
  virtual ~EpisodeSession() = default;
  // The conversation so far as text, for samples.jsonl: (role, content) in order.
  virtual std::vector<std::pair<std::string, std::string>> Transcript() const = 0;
  // Token counts of the conversation, for rewards that look at lengths.
  virtual void SetTokenCounts(std::int64_t prompt_tokens, std::int64_t completion_tokens) = 0;
};

class EpisodeSource {
 public:
  virtual ~EpisodeSource() = default;
  // The opening of prompt group `index` of step `step`.
  virtual common::StatusOr<EpisodeOpening> Open(std::int64_t step, std::int64_t index) = 0;
  // A branch of that opening; `branch` distinguishes the G samples of a group.
  virtual common::StatusOr<std::unique_ptr<EpisodeSession>> StartSession(
      std::int64_t step, std::int64_t index, std::int64_t branch) = 0;
  // Records each session's assistant turn and returns the user's answer to it, or nullopt
  // where the conversation ends (resolved, max_turns, the user left). One batch, so a model
  // playing the user answers every conversation at once; all or nothing on error.
  virtual common::StatusOr<std::vector<std::optional<std::string>>> UserReplies(
      const std::vector<EpisodeSession*>& sessions, const std::vector<std::string>& assistant_texts) = 0;
  // Scores a step's finished conversations, all or nothing (sessions from this source).
  virtual common::StatusOr<std::vector<EpisodeScore>> Score(
      std::int64_t step, const std::vector<EpisodeSession*>& sessions) = 0;
  // Reward-service calls that failed (then retried) or were rejected since the start.
  virtual std::int64_t RewardCallErrors() const { return 0; }
};

}  // namespace gspo::runner
