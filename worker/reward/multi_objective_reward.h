// MultiObjectiveReward: the weighted sum of reward components, per turn and per episode.
//
//   total = sum over components c of w_c * s_c  -  sum over penalties p of w_p * s_p
//
// Every s is in [0, 1], so the total lies in [-(sum of penalty weights), sum of the other
// weights]: [0, 1] for the task presets, whose weights sum to 1 and hold no penalty. A remote
// reward (batch_rewarder.h) adds w_remote * s_remote on top. GSPO normalizes rewards within
// each group of samples, so only differences between samples of one scenario matter.
//
// Weights are validated like job.yaml's reward.components: known names, no name twice, each in
// [0, 1000] and finite, and at least one above 0 (counting a remote reward's weight). A weight
// of 0 keeps the component in the results, for the metrics, without affecting the total.
//
// Immutable after Create; copies share the components; safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/reward/reward_component.h"
#include "worker/reward/trajectory.h"

namespace gspo::reward {

inline constexpr double kMaxComponentWeight = 1000;

struct WeightedComponent {
  std::string name;
  double weight = 0;
};

struct ComponentValue {
  std::string name;
  double value = 0;   // in [0, 1]
  double weight = 0;  // as configured
  bool penalty = false;
};

// The reward of one turn or one episode, with every component's value so that the trainer can
// log each component's mean.
struct RewardResult {
  double total = 0;
  std::vector<ComponentValue> components;  // in configured order

  // The component called `name`, or nullptr.
  const ComponentValue* Find(std::string_view name) const;
};

class MultiObjectiveReward {
 public:
  // Validates `components` (see above); `extra_positive_weight` is a remote reward's weight,
  // which counts toward "at least one weight above 0". Errors name the job.yaml path:
  // "reward.components[1].weight: expected a weight in [0, 1000], got -1".
  static common::StatusOr<MultiObjectiveReward> Create(std::vector<WeightedComponent> components,
                                                       double extra_positive_weight = 0,
                                                       const ComponentOptions& options = {});

  const std::vector<WeightedComponent>& weights() const { return weights_; }
  // The range of the total: [-(penalty weights), positive weights].
  double min_total() const;
  double max_total() const;

  // The reward of the whole trajectory (each component's ScoreEpisode).
  RewardResult ScoreEpisode(const Trajectory& trajectory) const;
  // One reward per assistant turn, in order (each component's ScoreTurn), for per-turn
  // advantages.
  std::vector<RewardResult> ScoreTurns(const Trajectory& trajectory) const;

 private:
  MultiObjectiveReward() = default;
  RewardResult Combine(const std::vector<double>& values) const;

  std::vector<WeightedComponent> weights_;
  std::vector<std::shared_ptr<const RewardComponent>> components_;
};

}  // namespace gspo::reward
