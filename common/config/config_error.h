// ConfigError: one problem found in a job spec, with where it came from.
//
// `where` is a source location ("job.yaml:12:5"), a command-line origin ("--set lora.lora_r=0"),
// or a layer name ("preset 9b", "default") for values the user did not write. `path` is the
// dotted field path ("gspo.num_generations", "lora.lora_target_modules[2]").
// Plain value type; no shared state.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::config {

struct ConfigError {
  std::string where;
  std::string path;
  std::string message;

  // "where: path: message"; parts that are empty are left out.
  std::string ToString() const;
};

// One kInvalidArgument status listing every error, one per line; OK when `errors` is empty.
common::Status ErrorsToStatus(const std::vector<ConfigError>& errors);

}  // namespace gspo::config
