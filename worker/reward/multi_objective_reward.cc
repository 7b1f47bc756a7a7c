#include "worker/reward/multi_objective_reward.h"

#include <cmath>
#include <set>

#include "common/config/config_error.h"
#include "common/config/spec_encoder.h"
#include "common/strings.h"

namespace gspo::reward {

const ComponentValue* RewardResult::Find(std::string_view name) const {
  for (const ComponentValue& c : components) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

common::StatusOr<MultiObjectiveReward> MultiObjectiveReward::Create(
    std::vector<WeightedComponent> components, double extra_positive_weight,
    const ComponentOptions& options) {
  std::vector<config::ConfigError> errors;
  std::set<std::string> seen;
  double positive = extra_positive_weight > 0 ? extra_positive_weight : 0;
  MultiObjectiveReward reward;
  for (std::size_t i = 0; i < components.size(); ++i) {
    const WeightedComponent& c = components[i];
    const std::string path = "reward.components[" + std::to_string(i) + "]";
    auto component = MakeRewardComponent(c.name, options);
    if (!component.ok()) {
      std::string message = "expected one of " + common::Join(RewardComponentNames(), ", ") +
                            "; got " + common::QuoteForMessage(c.name);
      if (auto close = common::ClosestMatch(c.name, RewardComponentNames())) {
        message += " (did you mean '" + *close + "'?)";
      }
      errors.push_back({"", path + ".name", message});
    } else if (!seen.insert(c.name).second) {
      errors.push_back({"", path + ".name", "'" + c.name + "' is listed twice"});
    } else {
      reward.components_.push_back(*std::move(component));
    }
    if (!std::isfinite(c.weight) || c.weight < 0 || c.weight > kMaxComponentWeight) {
      errors.push_back({"", path + ".weight",
                        "expected a weight in [0, 1000], got " + config::FormatNumber(c.weight)});
    } else {
      positive += c.weight;
    }
  }
  if (errors.empty() && !(positive > 0)) {
    errors.push_back(
        {"", "reward.components",
         components.empty() ? "no reward components" : "expected at least one weight > 0"});
  }
  GSPO_RETURN_IF_ERROR(config::ErrorsToStatus(errors));
  reward.weights_ = std::move(components);
  return reward;
}

double MultiObjectiveReward::min_total() const {
  double total = 0;
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    if (components_[i]->is_penalty()) total -= weights_[i].weight;
  }
  return total;
}

double MultiObjectiveReward::max_total() const {
  double total = 0;
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    if (!components_[i]->is_penalty()) total += weights_[i].weight;
  }
  return total;
}

RewardResult MultiObjectiveReward::Combine(const std::vector<double>& values) const {
  RewardResult result;
  for (std::size_t i = 0; i < components_.size(); ++i) {
    const bool penalty = components_[i]->is_penalty();
    result.components.push_back({weights_[i].name, values[i], weights_[i].weight, penalty});
    result.total += (penalty ? -1 : 1) * weights_[i].weight * values[i];
  }
  return result;
}

RewardResult MultiObjectiveReward::ScoreEpisode(const Trajectory& trajectory) const {
  std::vector<double> values;
  for (const auto& component : components_) values.push_back(component->ScoreEpisode(trajectory));
  return Combine(values);
}

std::vector<RewardResult> MultiObjectiveReward::ScoreTurns(const Trajectory& trajectory) const {
  std::vector<RewardResult> results;
  for (std::size_t index : AssistantTurns(trajectory)) {
    std::vector<double> values;
    for (const auto& component : components_) {
      values.push_back(component->ScoreTurn(trajectory, index));
    }
    results.push_back(Combine(values));
  }
  return results;
}

}  // namespace gspo::reward
