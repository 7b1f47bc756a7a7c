// Defaults and presets: the reference guide's recommended configurations by model size
// (2B / 9B / 27B) and each task's environment and reward settings. Each is a partial JobSpec
// layered under what the user wrote (precedence: command line > job.yaml > task preset >
// size preset > defaults).
// Stateless functions over constant data; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "gspo/v1/job.pb.h"

namespace gspo::config {

// Names the validator accepts, in documentation order.
const std::vector<std::string>& KnownTasks();  // customer_service, technical_support, sales
const std::vector<std::string>& KnownEnvironmentTasks();  // KnownTasks() + custom, mixture
const std::vector<std::string>& KnownRewardComponents();
const std::vector<std::string>& KnownRewardPresets();
const std::vector<std::string>& KnownLoraTargetModules();
const std::vector<std::string>& KnownSizePresets();  // 2b, 9b, 27b

// Values used where neither the user nor a preset says otherwise.
v1::JobSpec DefaultSpec();

// The guide's configuration for a model size class: "2b", "9b" or "27b".
common::StatusOr<v1::JobSpec> SizePreset(const std::string& name);

// The size class the guide would pick for a model of `billions` parameters.
std::string SizePresetForParameters(double billions);

// Environment and reward settings of a task (any of KnownEnvironmentTasks()).
v1::JobSpec TaskPreset(const std::string& task);

// The weighted reward components of a reward preset. For "mixture", each task's components
// scaled by its share of `mixture` and summed by name.
std::vector<v1::RewardComponent> RewardPresetComponents(
    const std::string& preset, const google::protobuf::Map<std::string, double>& mixture);

}  // namespace gspo::config
