// Semantic checks of a fully layered JobSpec: ranges, accepted names, combinations, and the
// batch shape (how a step's sequences split into ranks, updates and micro-batches).
//
// Each error names the field path and where its value came from (SourceMap), with what was
// expected and what was found. `fallback_where` is used for values nobody set (a required field
// that is missing).
// Stateless functions; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "common/config/config_error.h"
#include "common/config/spec_fields.h"
#include "gspo/v1/job.pb.h"

namespace gspo::config {

// Field-by-field checks and combinations of fields.
void ValidateJobSpec(const v1::JobSpec& spec, const SourceMap& sources,
                     const std::string& fallback_where, std::vector<ConfigError>* errors,
                     std::vector<std::string>* warnings);

// Fills gspo.minibatches or training.gradient_accumulation_steps (whichever the user did not
// set) so that prompts_per_step * num_generations sequences per step split exactly into
// ranks x minibatches x gradient_accumulation_steps x per_device_train_batch_size. Reports an
// error when no exact split exists. Call after ValidateJobSpec found no errors.
void ResolveBatchShape(const SourceMap& sources, const std::string& fallback_where,
                       v1::JobSpec* spec, std::vector<ConfigError>* errors);

// Ranks that generate and ranks that learn, from resources.
int RolloutRanks(const v1::JobSpec& spec);
int LearnerRanks(const v1::JobSpec& spec);

}  // namespace gspo::config
