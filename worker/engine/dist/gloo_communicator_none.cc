// Builds whose LibTorch lacks Gloo (or its headers): multi-rank CPU training is refused.
#include "worker/engine/dist/gloo_communicator.h"

namespace gspo::engine {

bool GlooAvailable() { return false; }

common::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(const GlooOptions&) {
  return common::UnimplementedError(
      "this build has no Gloo backend (LibTorch without USE_C10D_GLOO or its gloo headers), so "
      "CPU ranks cannot communicate; run with one rank");
}

common::StatusOr<GlooCommunicators> CreateGlooCommunicators(const GlooOptions& options,
                                                            const std::vector<GlooSubgroup>&) {
  return CreateGlooCommunicator(options).status();
}

}  // namespace gspo::engine
