// OpCounter: counts the LibTorch operators dispatched between Start() and Stop(), on every
// thread (autograd's backward threads included), by name, and those called from outside any
// other operator ("top level": what the engine's own code called). Each dispatched operator
// costs host time whether or not it launches a kernel, so the counts say what a host-bound phase
// can cut; unlike KernelTrace it needs no profiler build and runs on the CPU too. Used by the
// benchmarks' --op-counts flag. One counter at a time per process; Start/Stop/ToJson from one
// thread, the counting itself is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace gspo::tools {

class OpCounter {
 public:
  OpCounter() = default;
  ~OpCounter();  // removes a callback still installed
  OpCounter(const OpCounter&) = delete;
  OpCounter& operator=(const OpCounter&) = delete;

  common::Status Start();
  void Stop();
  // {"operators": N, "top_level": M, "top": [[name, count], ...]}: the `limit` top-level names
  // called most.
  std::string ToJson(int limit) const;

 private:
  bool running_ = false;
  std::uint64_t handle_ = 0;
};

}  // namespace gspo::tools
