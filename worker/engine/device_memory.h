// Device memory figures from LibTorch's CUDA caching allocator (and the driver's free memory):
// what benchmarks report as peak memory, what an out-of-memory error quotes and what sizes the
// rollout's batches. On the CPU (or a build without CUDA) every figure is 0. Safe from any
// thread (the allocator's statistics are atomic).
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace gspo::engine {

struct DeviceMemory {
  std::int64_t allocated = 0;       // bytes held by tensors now
  std::int64_t peak_allocated = 0;  // since the last ResetPeakMemory
  std::int64_t reserved = 0;        // bytes the allocator holds from the driver
  std::int64_t total = 0;           // the device's memory
  // What new tensors can still get: the driver's free memory (other processes' use counted)
  // plus what the allocator holds unused.
  std::int64_t available = 0;
};

DeviceMemory QueryDeviceMemory(const at::Device& device);
void ResetPeakMemory(const at::Device& device);

// `t` on `device`; from the host to a GPU through pinned memory, ordered on the current stream
// without the host waiting for the device (a pageable copy would wait for the stream first).
inline at::Tensor CopyWithoutWaiting(const at::Tensor& t, const at::Device& device) {
  if (t.device() == device) return t;
  if (!t.is_cpu() || device.is_cpu()) return t.to(device);
  return t.pin_memory().to(device, /*non_blocking=*/true);
}

}  // namespace gspo::engine
