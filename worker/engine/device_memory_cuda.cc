// Device memory from the CUDA caching allocator and the driver.
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>

#include "worker/engine/device_memory.h"

namespace gspo::engine {

DeviceMemory QueryDeviceMemory(const at::Device& device) {
  DeviceMemory m;
  if (!device.is_cuda()) return m;
  const auto index = device.has_index() ? device.index() : 0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
  constexpr std::size_t all = 0;  // StatType::AGGREGATE, whose namespace moved between versions
  m.allocated = stats.allocated_bytes[all].current;
  m.peak_allocated = stats.allocated_bytes[all].peak;
  m.reserved = stats.reserved_bytes[all].current;
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, index) == cudaSuccess) m.total = static_cast<std::int64_t>(prop.totalGlobalMem);
  std::size_t free = 0, total = 0;
  c10::cuda::CUDAGuard guard(index);  // cudaMemGetInfo answers for the current device
  if (cudaMemGetInfo(&free, &total) == cudaSuccess) m.available = static_cast<std::int64_t>(free) + m.reserved - m.allocated;
  return m;
}

void ResetPeakMemory(const at::Device& device) {
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
  }
}

}  // namespace gspo::engine
