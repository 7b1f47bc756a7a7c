// StepGraph: one decode step recorded as a CUDA graph and replayed, so that a step costs one
// launch instead of several hundred (decode of a small batch is launch-bound otherwise).
//
// The step must read and write only tensors that outlive the graph (static inputs, the KV
// cache, the output buffer) and never synchronise with the host. Capture runs it twice on a
// side stream (a warm-up, then the recording); Replay re-runs the recorded kernels on the
// current stream, reading whatever those tensors hold then.
//
// Built without CUDA, or with GSPO_CUDA_GRAPHS=0 in the environment, Capture returns null and
// the caller runs the step directly. Owns the graph and its memory pool; not thread-safe.
#pragma once

#include <functional>
#include <memory>

#include <ATen/ATen.h>

namespace gspo::engine {

class StepGraph {
 public:
  virtual ~StepGraph() = default;

  // Null when graphs are unavailable for `device` (CPU, a build without CUDA, or disabled).
  static std::unique_ptr<StepGraph> Capture(const at::Device& device, const std::function<void()>& step);

  virtual void Replay() = 0;
};

// False when GSPO_CUDA_GRAPHS=0: the switch for measuring what the graphs bring.
bool CudaGraphsEnabled();

}  // namespace gspo::engine
