#include "worker/engine/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <sched.h>

#include <thread>

#include "worker/engine/torch_compat.h"

namespace gspo::engine {

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

int VisibleCudaDevices() { return at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0; }

void SetCurrentCudaDevice(int index) {
  // The device guard interface exists in CPU-only builds too; the CUDA one is registered only
  // where LibTorch has CUDA, which the callers check first.
  c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)
      ->setDevice(c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index)));
}

RuntimeInfo ConfigureRuntime(int threads) {
  const int wanted = threads > 0 ? threads : UsableCores();
  if (at::get_num_threads() != wanted) at::set_num_threads(wanted);
  RuntimeInfo info;
  info.torch_version = TORCH_VERSION;
  info.intra_op_threads = at::get_num_threads();
  info.cuda_available = at::hasCUDA();
  info.cuda_devices = VisibleCudaDevices();
  return info;
}

}  // namespace gspo::engine
