// Device memory in a build without CUDA: nothing to report.
#include "worker/engine/device_memory.h"

namespace gspo::engine {

DeviceMemory QueryDeviceMemory(const at::Device&) { return {}; }
void ResetPeakMemory(const at::Device&) {}

}  // namespace gspo::engine
