// Process-wide LibTorch set-up for the engine: intra-op threads, and a description of the
// devices this process can use. Call ConfigureRuntime once at start-up, before any tensor work.
// Not thread-safe: it changes process-global LibTorch settings.
#pragma once

#include <string>

namespace gspo::engine {

struct RuntimeInfo {
  std::string torch_version;  // "1.13.1"
  int intra_op_threads = 0;
  bool cuda_available = false;
  int cuda_devices = 0;
};

// Sets LibTorch's intra-op threads to `threads`, or to the number of cores this process may run
// on when `threads` <= 0 (LibTorch's own default can over- or under-subscribe in containers).
RuntimeInfo ConfigureRuntime(int threads = 0);

// CUDA devices this process sees (after CUDA_VISIBLE_DEVICES); 0 without CUDA. Does not create a
// CUDA context.
int VisibleCudaDevices();

// Makes cuda:`index` the current CUDA device of the calling thread, so that LibTorch's default
// device, current stream and NCCL use it. Call before anything touches the GPU: a rank of a
// multi-GPU job otherwise also creates a context on cuda:0. Not for CPU-only processes.
void SetCurrentCudaDevice(int index);

// Cores this process may run on (its CPU affinity mask), at least 1.
int UsableCores();

}  // namespace gspo::engine
