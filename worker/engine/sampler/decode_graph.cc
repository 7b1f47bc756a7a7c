#include "worker/engine/sampler/decode_graph.h"

#include <cstdlib>
#include <cstring>

namespace gspo::engine {

bool CudaGraphsEnabled() {
  const char* value = std::getenv("GSPO_CUDA_GRAPHS");
  return value == nullptr || std::strcmp(value, "0") != 0;
}

}  // namespace gspo::engine
