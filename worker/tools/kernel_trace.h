// KernelTrace: records what LibTorch runs between Start() and Finish() with its profiler (Kineto:
// host-side operators, and on CUDA the kernels and copies with their device times) and writes
// a Chrome trace JSON that bench/gpu/trace_summary.py sums per kernel. Used by the benchmarks'
// --trace flag. One trace at a time per process (the profiler is process-wide); not
// thread-safe.
#pragma once

#include <string>

#include "common/status.h"

namespace gspo::tools {

class KernelTrace {
 public:
  KernelTrace() = default;
  ~KernelTrace();  // stops a trace still running, writing nothing
  KernelTrace(const KernelTrace&) = delete;
  KernelTrace& operator=(const KernelTrace&) = delete;

  // Starts recording host operators, and device kernels when `cuda`.
  common::Status Start(bool cuda);
  // Stops recording and writes the trace to `path` (through a temporary file, so a trace that
  // cannot be written leaves no partial file behind).
  common::Status Finish(const std::string& path);

 private:
  bool running_ = false;
};

}  // namespace gspo::tools
