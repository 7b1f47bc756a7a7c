#include "worker/env/scenario_pack.h"

#include <map>

#include "common/config/yaml_source.h"
#include "common/files.h"
#include "common/strings.h"
#include "worker/env/pack_decoder.h"

namespace gspo::env {

const std::vector<std::string>& PackKeys() {
  static const auto* v =
      new std::vector<std::string>{"task", "system_prompt", "max_turns", "scenarios"};
  return *v;
}

common::StatusOr<std::vector<Scenario>> ParseScenarioPack(const std::string& source_name,
                                                          std::string_view text,
                                                          const std::string& default_task) {
  // ParseYaml's own message for an empty text speaks of job specs.
  bool has_content = false;
  for (const std::string& line : common::Split(text, '\n')) {
    const std::string trimmed = common::Trim(line);
    has_content = has_content || (!trimmed.empty() && trimmed[0] != '#');
  }
  if (!has_content && text.size() <= kMaxPackBytes) {
    return common::InvalidArgumentError(
        source_name + ": empty document; expected a mapping with a 'scenarios' list");
  }
  config::YamlLimits limits;
  limits.max_bytes = kMaxPackBytes;
  limits.max_nodes = kMaxPackYamlNodes;
  GSPO_ASSIGN_OR_RETURN(YAML::Node root, config::ParseYaml(source_name, text, limits));

  DecodedPack decoded = DecodePack(source_name, root);
  if (!decoded.errors.empty()) return config::ErrorsToStatus(decoded.errors);
  std::vector<Scenario>& scenarios = decoded.scenarios;
  const Scenario& defaults = decoded.defaults;

  std::vector<config::ConfigError> errors;
  const WhereFn where = [&](const std::string& path) { return decoded.Where(path); };
  if (!defaults.task.empty()) {
    const std::string problem = TaskNameError(defaults.task);
    // Every scenario without a task of its own would repeat this error: report it once.
    if (!problem.empty()) {
      return config::ErrorsToStatus({{where("task"), "task", problem}});
    }
  }
  std::map<std::string, std::size_t> first_index;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    Scenario& s = scenarios[i];
    const std::string path = "scenarios[" + std::to_string(i) + "]";
    if (s.task.empty()) s.task = defaults.task.empty() ? default_task : defaults.task;
    if (s.system_prompt.empty()) s.system_prompt = defaults.system_prompt;
    if (s.max_turns == 0) s.max_turns = defaults.max_turns;
    CheckScenario(s, path, where, &errors);
    if (s.id.empty()) continue;
    auto [seen, inserted] = first_index.emplace(s.id, i);
    if (!inserted) {
      errors.push_back({where(path + ".id"), path + ".id",
                        common::QuoteForMessage(s.id) + " is already the id of scenarios[" +
                            std::to_string(seen->second) + "] (" + scenarios[seen->second].origin +
                            ")"});
    }
  }
  if (!errors.empty()) return config::ErrorsToStatus(errors);
  return std::move(decoded.scenarios);
}

common::StatusOr<std::vector<Scenario>> LoadScenarioPack(const std::string& path,
                                                         const std::string& default_task) {
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, kMaxPackBytes));
  return ParseScenarioPack(path, text, default_task);
}

}  // namespace gspo::env
