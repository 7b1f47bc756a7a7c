// Device memory figures from LibTorch's CUDA caching allocator: what benchmarks report as peak
// memory and what an out-of-memory error quotes. On the CPU (or a build without CUDA) every
// figure is 0. Safe from any thread (the allocator's statistics are atomic).
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace gspo::engine {

struct DeviceMemory {
  std::int64_t allocated = 0;       // bytes held by tensors now
  std::int64_t peak_allocated = 0;  // since the last ResetPeakMemory
  std::int64_t reserved = 0;        // bytes the allocator holds from the driver
  std::int64_t total = 0;           // the device's memory
};

DeviceMemory QueryDeviceMemory(const at::Device& device);
void ResetPeakMemory(const at::Device& device);

}  // namespace gspo::engine
