// StepGraph on CUDA: at::cuda::CUDAGraph recorded on a side stream.
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "worker/engine/sampler/decode_graph.h"

namespace gspo::engine {
namespace {

class CudaStepGraph : public StepGraph {
 public:
  explicit CudaStepGraph(const at::Device& device) : device_(device) {}

  void Record(const std::function<void()>& step) {
    c10::cuda::CUDAGuard device_guard(device_);
    c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream();
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
    // The side stream starts after everything queued so far (the prefill, the inputs).
    at::cuda::CUDAEvent ready;
    ready.record(current);
    ready.block(side);
    {
      c10::cuda::CUDAStreamGuard stream_guard(side);
      step();  // warm-up: lazy initialisation (cuBLAS workspaces) must not happen while recording
      graph_.capture_begin();
      step();
      graph_.capture_end();
    }
    at::cuda::CUDAEvent done;
    done.record(side);
    done.block(current);
  }

  void Replay() override {
    c10::cuda::CUDAGuard device_guard(device_);
    graph_.replay();
  }

 private:
  at::Device device_;
  at::cuda::CUDAGraph graph_;
};

}  // namespace

std::unique_ptr<StepGraph> StepGraph::Capture(const at::Device& device, const std::function<void()>& step) {
  if (!device.is_cuda() || !CudaGraphsEnabled()) return nullptr;
  auto graph = std::make_unique<CudaStepGraph>(device);
  graph->Record(step);
  return graph;
}

}  // namespace gspo::engine
