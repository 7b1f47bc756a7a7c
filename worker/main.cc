// gspo-worker: one rank per device. This build reports the devices it would register; the
// coordinator connection (WorkerService) arrives with the control plane.
#include <cstdlib>
#include <iostream>
#include <string>

#include "worker/engine/runtime.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: gspo-worker --list-devices\n"
     << "  --list-devices   print the devices this worker would register (CUDA_VISIBLE_DEVICES,\n"
     << "                   else one CPU rank) and the LibTorch runtime, then exit\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arg = argc > 1 ? argv[1] : "";
  if (arg == "-h" || arg == "--help") {
    Usage(std::cout);
    return 0;
  }
  if (arg == "--version") {
    std::cout << "gspo-worker " << GSPO_VERSION << "\n";
    return 0;
  }
  if (arg != "--list-devices" || argc > 2) {
    std::cerr << "gspo-worker: this build has no coordinator connection yet; only --list-devices "
                 "is available\n";
    Usage(std::cerr);
    return 2;
  }
  const gspo::engine::RuntimeInfo info = gspo::engine::ConfigureRuntime();
  std::cout << "libtorch " << info.torch_version << ", " << info.intra_op_threads
            << " intra-op threads\n";
  if (info.cuda_devices == 0) {
    std::cout << "device cpu:0 (no CUDA device visible)\n";
  } else {
    for (int i = 0; i < info.cuda_devices; ++i) std::cout << "device cuda:" << i << "\n";
  }
  return 0;
}
