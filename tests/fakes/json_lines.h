// Reading a JSON-lines file (metrics.jsonl, samples.jsonl) in tests: one object per non-empty
// line. Stateless.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gspo::testing {

// Every line of `path` parsed; the first unreadable file or line is the error.
common::StatusOr<std::vector<common::Json>> ReadJsonLines(const std::string& path);

}  // namespace gspo::testing
