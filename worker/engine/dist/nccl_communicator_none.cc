// Builds without LibTorch CUDA or without NCCL: multi-rank GPU training is refused.
#include "worker/engine/dist/nccl_communicator.h"

namespace gspo::engine {

bool NcclAvailable() { return false; }

common::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const NcclOptions&) {
  return common::UnimplementedError(
      "this build has no NCCL communicator (LibTorch without CUDA, or NCCL not found at build "
      "time), so GPU ranks cannot communicate; run one rank, or CPU ranks (CUDA_VISIBLE_DEVICES=)");
}

common::StatusOr<CommunicatorGroups> CreateNcclCommunicators(const NcclOptions& options,
                                                             const std::vector<Subgroup>&) {
  GSPO_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> world, CreateNcclCommunicator(options));
  return CommunicatorGroups{std::move(world), {}};
}

}  // namespace gspo::engine
