// RewardComponent: one objective of the multi-objective reward, scoring a trajectory per
// assistant turn and per episode, always in [0, 1]. Penalties are components too: their value
// is how bad the turn is (1 = worst) and the total subtracts them.
//
//   name                    turn score (text_scores.h)          episode score
//   empathy                 EmpathyScore(turn, previous user)   mean over assistant turns
//   action_orientation      ActionOrientationScore              mean
//   professionalism         ProfessionalismScore                mean
//   politeness              PolitenessScore                     mean
//   length_appropriateness  LengthScore(turn, task's band)      mean
//   reference_similarity    ReferenceSimilarityScore(turn)      of all assistant turns joined
//   task_resolution         TaskResolutionScore(turns so far)   1 if any turn resolves, else 0.4 P
//   format_penalty          FormatPenalty(turn, earlier turns)  max over assistant turns
//   safety_penalty          SafetyPenalty(turn)                 max over assistant turns
// A trajectory without assistant turns scores 0 on every component, penalties included.
//
// Components are immutable; safe to share between threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/reward/text_scores.h"
#include "worker/reward/trajectory.h"

namespace gspo::reward {

class RewardComponent {
 public:
  virtual ~RewardComponent() = default;

  virtual const std::string& name() const = 0;
  // Penalties are subtracted from the total.
  virtual bool is_penalty() const { return false; }

  // The score of the assistant message trajectory.messages[index], in its context (the
  // messages before it). The trajectory must have a scenario.
  virtual double ScoreTurn(const Trajectory& trajectory, std::size_t index) const = 0;
  // The score of the whole trajectory. Default: the mean of ScoreTurn over the assistant turns
  // (the maximum for penalties).
  virtual double ScoreEpisode(const Trajectory& trajectory) const;
};

// The components, in documentation order (the names job.yaml's reward.components accepts).
const std::vector<std::string>& RewardComponentNames();

struct ComponentOptions {
  // Length band per task; tasks not listed use DefaultLengthBand.
  std::map<std::string, LengthBand> length_bands;
};

// The component called `name`; kInvalidArgument naming the accepted ones otherwise.
common::StatusOr<std::shared_ptr<const RewardComponent>> MakeRewardComponent(
    std::string_view name, const ComponentOptions& options = {});

}  // namespace gspo::reward
