// StepGraph in a build without CUDA: there is nothing to capture.
#include "worker/engine/sampler/decode_graph.h"

namespace gspo::engine {

std::unique_ptr<StepGraph> StepGraph::Capture(const at::Device&, const std::function<void()>&) {
  return nullptr;
}

}  // namespace gspo::engine
