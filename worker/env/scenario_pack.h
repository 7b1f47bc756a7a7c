// Scenario packs: YAML files of scenarios (examples/scenarios/*.yaml, or a user's own).
//
//   task: customer_service          # optional: the task of scenarios that name none
//   system_prompt: "..."            # optional: for scenarios that set none
//   max_turns: 4                    # optional: for scenarios that set none
//   scenarios:
//     - id: late-delivery
//       opening_message: "My order hasn't arrived."
//       facts: {order_number: "A-1042"}
//       ...
//
// Loaded with the job spec's defensive YAML reader (size, UTF-8, one document, depth, alias
// expansion), then decoded and checked in stages like job.yaml: every error is one line
// "pack.yaml:LINE:COL: scenarios[3].facts: what was expected, got what", unknown keys suggest
// the closest valid one, and each stage reports all of its errors at once.
// Stateless functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/env/scenario.h"

namespace gspo::env {

inline constexpr std::size_t kMaxPackBytes = 4 << 20;
inline constexpr std::size_t kMaxPackYamlNodes = 1000000;

// Top-level keys of a pack, in documentation order.
const std::vector<std::string>& PackKeys();

// Decodes and checks the pack `text`; `source_name` prefixes every error location. Each
// scenario's `origin` is "source_name:line:col" of its mapping. A scenario without a task takes
// the pack's, else `default_task` (a job's task), else it is an error.
common::StatusOr<std::vector<Scenario>> ParseScenarioPack(const std::string& source_name,
                                                          std::string_view text,
                                                          const std::string& default_task = "");

// Reads the pack at `path` (at most kMaxPackBytes) and parses it.
common::StatusOr<std::vector<Scenario>> LoadScenarioPack(const std::string& path,
                                                         const std::string& default_task = "");

}  // namespace gspo::env
