#include "worker/engine/sampler/decode_graph.h"

#include "worker/engine/env_switch.h"

namespace gspo::engine {

bool CudaGraphsEnabled() { return SwitchedOn("GSPO_CUDA_GRAPHS"); }

}  // namespace gspo::engine
