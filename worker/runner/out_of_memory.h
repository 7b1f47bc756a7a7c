// What a step that ran out of device memory tells the user: the phase, the memory figures, and
// the job settings that lower memory, in the order that usually helps most (the reference
// guide's troubleshooting advice, in this project's field names). The step fails cleanly: the
// last checkpoint stays as it was, and a resumed run repeats from it.
// Pure function; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "worker/runner/train_options.h"

namespace gspo::runner {

struct MemoryFigures {
  std::int64_t allocated = 0, peak_allocated = 0, reserved = 0, total = 0;  // bytes; 0: unknown
};

// "out of device memory during <phase> (step N): ... ; try: ...". `phase` is "rollout" or
// "learning"; `detail` is LibTorch's own message (its first line is kept).
std::string OutOfMemoryMessage(const std::string& phase, std::int64_t step, const MemoryFigures& memory,
                               const TrainOptions& options, const std::string& detail);

}  // namespace gspo::runner
