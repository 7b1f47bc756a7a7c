#include "worker/reward/reward_presets.h"

#include <cmath>

#include "common/strings.h"

namespace gspo::reward {
namespace {

const std::map<std::string, std::vector<WeightedComponent>>& Table() {
  static const auto* table = new std::map<std::string, std::vector<WeightedComponent>>{
      {"customer_service",
       {{"empathy", 0.25},
        {"action_orientation", 0.25},
        {"professionalism", 0.25},
        {"length_appropriateness", 0.1},
        {"reference_similarity", 0.15}}},
      {"technical_support",
       {{"task_resolution", 0.3},
        {"action_orientation", 0.25},
        {"reference_similarity", 0.15},
        {"professionalism", 0.15},
        {"empathy", 0.1},
        {"length_appropriateness", 0.05}}},
      {"sales",
       {{"task_resolution", 0.25},
        {"action_orientation", 0.2},
        {"professionalism", 0.2},
        {"empathy", 0.15},
        {"politeness", 0.1},
        {"length_appropriateness", 0.1}}},
  };
  return *table;
}

common::Status UnknownTask(std::string_view task) {
  std::string message = "no reward preset for task " + common::QuoteForMessage(task) +
                        "; expected one of " + common::Join(RewardPresetTasks(), ", ");
  if (auto close = common::ClosestMatch(task, RewardPresetTasks())) {
    message += " (did you mean '" + *close + "'?)";
  }
  return common::InvalidArgumentError(message);
}

}  // namespace

const std::vector<std::string>& RewardPresetTasks() {
  static const auto* v =
      new std::vector<std::string>{"customer_service", "technical_support", "sales"};
  return *v;
}

common::StatusOr<std::vector<WeightedComponent>> PresetComponents(std::string_view task) {
  auto it = Table().find(std::string(task));
  if (it == Table().end()) return UnknownTask(task);
  return it->second;
}

common::StatusOr<std::vector<WeightedComponent>> MixtureComponents(
    const std::map<std::string, double>& task_weights) {
  double total = 0;
  for (const auto& [task, weight] : task_weights) {
    if (!Table().count(task)) return UnknownTask(task);
    if (!std::isfinite(weight) || !(weight > 0)) {
      return common::InvalidArgumentError("environment.mixture." + task +
                                          ": expected a weight > 0");
    }
    total += weight;
  }
  if (task_weights.empty()) {
    return common::InvalidArgumentError("environment.mixture: expected task weights");
  }
  std::vector<WeightedComponent> out;
  for (const auto& [task, weight] : task_weights) {
    for (const WeightedComponent& c : Table().at(task)) {
      WeightedComponent* slot = nullptr;
      for (WeightedComponent& existing : out) {
        if (existing.name == c.name) slot = &existing;
      }
      if (slot == nullptr) slot = &out.emplace_back(WeightedComponent{c.name, 0});
      slot->weight += weight / total * c.weight;
    }
  }
  for (WeightedComponent& c : out) c.weight = std::round(c.weight * 1e9) / 1e9;
  return out;
}

}  // namespace gspo::reward
