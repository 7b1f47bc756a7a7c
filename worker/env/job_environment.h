// The edge between a job spec and the environment: builds EnvironmentOptions from a resolved
// JobSpec (environment and training.seed). This is the only env header that names a protobuf
// type, and it only forward-declares it; the conversion lives in job_environment.cc (target
// gspo_env_job), so gspo_env itself stays free of protobuf.
//
// The scenario pool of a job:
//   task customer_service | technical_support | sales   that task's built-in pack
//   task mixture                                         the built-in pack of each mixture task,
//                                                        drawn by the mixture's weights
//   task custom                                          no built-in pack
// plus every entry of environment.scenarios (pack files, relative to the job file, and inline
// scenarios). A scenario without a task takes the job's (except in a mixture, where it must
// name one).
// Stateless functions; safe from any thread.
#pragma once

#include <string>

#include "common/status.h"
#include "worker/env/conversation_environment.h"
#include "worker/env/scenario.h"

namespace gspo::v1 {
class JobSpec;
class Scenario;
}  // namespace gspo::v1

namespace gspo::env {

// The directory of the built-in packs, customer_service.yaml, technical_support.yaml and
// sales.yaml: the source tree's examples/scenarios.
std::string DefaultScenarioDir();

struct ScenarioSources {
  std::string builtin_dir;  // built-in packs; DefaultScenarioDir() when empty
  std::string job_dir;      // scenario files are relative to it; "." when empty
};

// An inline scenario of job.yaml. `origin` names it in messages
// ("job.yaml: environment.scenarios[2]").
Scenario ScenarioFromSpec(const v1::Scenario& spec, const std::string& origin);

// The environment of a resolved job: its scenario pool, mixture weights, system prompt,
// max_turns and seed. Pack errors keep their file:line:col; other errors name the field path.
common::StatusOr<EnvironmentOptions> EnvironmentOptionsForJob(const v1::JobSpec& spec,
                                                              const ScenarioSources& sources);

}  // namespace gspo::env
