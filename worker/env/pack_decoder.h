// Internal to scenario_pack.cc: decodes the YAML node tree of a scenario pack into scenarios
// (keys and types only; values are checked by the caller), recording where each field was
// written. Collects every error instead of stopping at the first.
// Stateless function; safe from any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "common/config/config_error.h"
#include "worker/env/scenario.h"

namespace gspo::env {

struct DecodedPack {
  std::string source;
  std::vector<Scenario> scenarios;
  Scenario defaults;  // the pack-level task, system_prompt and max_turns
  std::vector<config::ConfigError> errors;
  std::map<std::string, std::string> where;  // field path -> "source:line:col"

  // The position of `path`, else of its closest ancestor, else `source`.
  std::string Where(const std::string& path) const;
};

DecodedPack DecodePack(const std::string& source, const YAML::Node& root);

}  // namespace gspo::env
