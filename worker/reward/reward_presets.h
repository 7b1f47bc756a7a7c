// The reward preset of each task: which components, with which weights. Each preset's weights
// sum to 1 and hold no penalty, so its total lies in [0, 1]. customer_service is the reference
// guide's customer-service reward; technical_support leans on resolution, concrete steps and the
// reference answer; sales on resolution, concrete recommendations and tone:
//
//   component               customer_service  technical_support  sales
//   empathy                 0.25              0.10               0.15
//   action_orientation      0.25              0.25               0.20
//   professionalism         0.25              0.15               0.20
//   length_appropriateness  0.10              0.05               0.10
//   reference_similarity    0.15              0.15
//   task_resolution                           0.30               0.25
//   politeness                                                   0.10
//
// common/config/presets.cc fills job.yaml's reward.components from the same table (a test
// keeps the two equal). Stateless functions over constant data; safe from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/reward/multi_objective_reward.h"

namespace gspo::reward {

// customer_service, technical_support, sales.
const std::vector<std::string>& RewardPresetTasks();

// The preset of `task`; kInvalidArgument for other names.
common::StatusOr<std::vector<WeightedComponent>> PresetComponents(std::string_view task);

// A multi-task reward: each task's weight divided by the sum of the weights, times that task's
// component weights, summed by component name (in order of first appearance, tasks in name
// order) and rounded to 9 decimal places: job.yaml's `reward.preset: mixture`.
common::StatusOr<std::vector<WeightedComponent>> MixtureComponents(
    const std::map<std::string, double>& task_weights);

}  // namespace gspo::reward
