// Communicator: the collectives that data-parallel training needs between the ranks of a job.
//
//   AllReduceSum  float32 tensors summed in place across ranks (LoRA gradients); NCCL: bfloat16 too
//   Broadcast     float32 tensors copied in place from a root rank; NCCL: bfloat16 too
//   Barrier       every rank has reached this point
//   AllGather     a few doubles from every rank (step metrics)
//
// Every call is collective: all ranks make the same calls, with tensors of the same shapes, in
// the same order. A call that does not complete within the timeout given at creation (a rank
// died, hangs, or took another path) fails with kDeadlineExceeded or kUnavailable, and the
// communicator must not be used again (its later calls fail with kAborted): the job fails
// rather than continuing with ranks that disagree. AllReduceGradients sums in float32 on every
// backend (Gloo has no bfloat16 all-reduce, and float32 sums keep the ranks' optimizer steps
// identical); the NCCL communicator also takes bfloat16 tensors.
//
// Implementations: SingleRankCommunicator (a world of one; every call is the identity),
// GlooCommunicator (CPU, gloo_communicator.h) and NcclCommunicator (GPU, nccl_communicator.h).
// Ownership: a communicator is owned by the code that created it; tensors are borrowed for the
// duration of a call. Not thread-safe: one thread calls into a communicator.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::engine {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // Sums each tensor over the ranks, in place. Float32 (NCCL: or bfloat16), contiguous, on one
  // device.
  virtual common::Status AllReduceSum(std::vector<at::Tensor>& tensors) = 0;
  // Overwrites each tensor with root's. Float32, contiguous.
  virtual common::Status Broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
  virtual common::Status Barrier() = 0;
  // Every rank's `values`, indexed by rank; every rank passes the same number of values.
  virtual common::StatusOr<std::vector<std::vector<double>>> AllGather(
      const std::vector<double>& values) = 0;
};

// A world of one rank: reductions and broadcasts leave the tensors as they are.
class SingleRankCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  common::Status AllReduceSum(std::vector<at::Tensor>& tensors) override;
  common::Status Broadcast(std::vector<at::Tensor>& tensors, int root) override;
  common::Status Barrier() override { return common::Status::Ok(); }
  common::StatusOr<std::vector<std::vector<double>>> AllGather(
      const std::vector<double>& values) override {
    return std::vector<std::vector<double>>{values};
  }
};

// A subgroup of the world: a name unique in the job (its key prefix in the rendezvous store)
// and its members' world ranks, distinct, in the order that gives their subgroup ranks.
// Communicators over a subgroup number its members 0..n-1 and have their own collective order.
struct Subgroup {
  std::string name;
  std::vector<int> ranks;
};

// A rank's communicators: the world and one per requested subgroup, in order (null where this
// rank is not a member). Owns them.
struct CommunicatorGroups {
  std::unique_ptr<Communicator> world;
  std::vector<std::unique_ptr<Communicator>> subgroups;
};

// kInvalidArgument unless every subgroup has a new, non-empty name and distinct ranks of the world.
common::Status CheckSubgroups(const std::vector<Subgroup>& subgroups, int world_size);

// The checks every implementation applies to the tensors of AllReduceSum and Broadcast:
// defined, float32 (or bfloat16 where allowed; names the dtype it got otherwise), contiguous, all
// on one device.
common::Status CheckCollectiveTensors(const std::vector<at::Tensor>& tensors, const char* what,
                                      bool allow_bfloat16 = false);

// Sums the gradients of `params` over the ranks in one flat float32 buffer (one collective
// instead of one per tensor). A parameter without a gradient contributes zeros and gets the sum.
common::Status AllReduceGradients(Communicator& communicator,
                                  const std::vector<at::Tensor>& params);

}  // namespace gspo::engine
