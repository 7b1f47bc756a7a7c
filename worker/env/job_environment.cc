#include "worker/env/job_environment.h"

#include <algorithm>

#include "common/files.h"
#include "gspo/v1/job.pb.h"
#include "worker/env/scenario_pack.h"

#ifndef GSPO_SCENARIO_DIR
#define GSPO_SCENARIO_DIR "examples/scenarios"
#endif

namespace gspo::env {
namespace {

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

bool IsBuiltinTask(const std::string& task) {
  return task == "customer_service" || task == "technical_support" || task == "sales";
}

}  // namespace

std::string DefaultScenarioDir() { return GSPO_SCENARIO_DIR; }

Scenario ScenarioFromSpec(const v1::Scenario& spec, const std::string& origin) {
  Scenario s;
  s.id = spec.id();
  s.task = spec.task();
  s.system_prompt = spec.system_prompt();
  s.opening_message = spec.opening_message();
  s.persona = spec.persona();
  for (const auto& [name, value] : spec.facts()) s.facts[name] = value;
  s.resolution = Strings(spec.resolution());
  s.forbidden = Strings(spec.forbidden());
  s.reference = spec.reference();
  s.user_replies = Strings(spec.user_replies());
  for (const v1::ReplyRule& r : spec.reply_rules()) {
    s.reply_rules.push_back({Strings(r.when_agent_says()), r.reply(), r.end()});
  }
  s.max_turns = spec.has_max_turns() ? spec.max_turns() : 0;
  s.origin = origin;
  return s;
}

common::StatusOr<EnvironmentOptions> EnvironmentOptionsForJob(const v1::JobSpec& spec,
                                                              const ScenarioSources& sources) {
  const v1::EnvironmentSpec& environment = spec.environment();
  const std::string& task = environment.task();
  const std::string builtin_dir =
      sources.builtin_dir.empty() ? DefaultScenarioDir() : sources.builtin_dir;
  const std::string job_dir = sources.job_dir.empty() ? "." : sources.job_dir;

  EnvironmentOptions options;
  options.system_prompt = environment.system_prompt();
  options.max_turns = environment.max_turns();
  options.seed = static_cast<std::uint64_t>(spec.training().seed());

  std::vector<std::string> builtin;
  if (IsBuiltinTask(task)) builtin.push_back(task);
  if (task == "mixture") {
    for (const auto& [name, weight] : environment.mixture()) {
      options.task_weights[name] = weight;
      builtin.push_back(name);
    }
    std::sort(builtin.begin(), builtin.end());
  }
  for (const std::string& name : builtin) {
    GSPO_ASSIGN_OR_RETURN(std::vector<Scenario> pack,
                          LoadScenarioPack(common::JoinPath(builtin_dir, name + ".yaml"), name));
    for (Scenario& s : pack) options.scenarios.push_back(std::move(s));
  }

  // In a mixture a scenario must say which task's share it belongs to.
  const std::string default_task = task == "mixture" ? "" : task;
  for (int i = 0; i < environment.scenarios_size(); ++i) {
    const v1::Scenario& entry = environment.scenarios(i);
    const std::string path = "environment.scenarios[" + std::to_string(i) + "]";
    if (entry.has_file()) {
      auto pack = LoadScenarioPack(common::JoinPath(job_dir, entry.file()), default_task);
      if (!pack.ok()) {
        return common::Status(pack.status().code(), path + ".file: " + pack.status().message());
      }
      for (Scenario& s : *pack) options.scenarios.push_back(std::move(s));
      continue;
    }
    Scenario s = ScenarioFromSpec(entry, "job: " + path);
    if (s.task.empty()) s.task = default_task;
    // job.yaml's own checks (common/config/validate.cc) already ran with line numbers; this
    // is the same rule set the packs get, for what only the environment checks.
    std::vector<config::ConfigError> errors;
    const WhereFn locate = [](const std::string&) { return std::string("job"); };
    CheckScenario(s, path, locate, &errors);
    GSPO_RETURN_IF_ERROR(config::ErrorsToStatus(errors));
    options.scenarios.push_back(std::move(s));
  }
  return options;
}

}  // namespace gspo::env
