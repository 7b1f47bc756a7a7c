// NcclCommunicator: the Communicator of GPU ranks (one process per GPU), over NcclGroup
// (nccl_group.h: non-blocking NCCL with a deadline on every call). Rank 0 makes the NCCL unique
// id and publishes it in a c10d::FileStore, the same store file the Gloo path uses; the other
// ranks wait for it there (bounded by the timeout). The store file must be new for each run and
// on a file system every rank sees; `gspo train --nproc N` makes one in a fresh directory.
//
// Tensors are CUDA tensors on the rank's device, or CPU tensors (staged through the device:
// trajectory bytes, small headers); float32 and bfloat16 are reduced and broadcast
// (communicator.h). Subgroups (CreateNcclCommunicators) are further NCCL communicators whose
// unique ids travel under their own keys of the same store. Collectives run on LibTorch's current stream of that device, and
// return once they completed (the tensors hold the result; nothing is left in flight).
// Ownership: Create returns the only owner. Not thread-safe (communicator.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/dist/communicator.h"

namespace gspo::engine {

struct NcclOptions {
  std::string store_path;  // the FileStore file, shared by the ranks
  int rank = 0;
  int world_size = 1;
  int device = 0;  // CUDA device index of this rank
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// Whether this build has the NCCL communicator (LibTorch with CUDA, and NCCL found).
bool NcclAvailable();

// Joins the group: returns once every rank has joined, or fails with kDeadlineExceeded (the wait
// for rank 0's id and the NCCL init are each bounded by the timeout; collectives use it too), or at once on bad options (kInvalidArgument) or, without NCCL in the
// build, kUnimplemented.
common::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const NcclOptions& options);

// The world and the subgroups this rank belongs to, joined in the order listed (every rank lists
// the same subgroups; the members of each join it together). Errors as CreateNcclCommunicator;
// kInvalidArgument for a bad subgroup.
common::StatusOr<CommunicatorGroups> CreateNcclCommunicators(const NcclOptions& options,
                                                             const std::vector<Subgroup>& subgroups);

}  // namespace gspo::engine
