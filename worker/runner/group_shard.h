// GroupShard: which prompt groups of a step each rank generates and learns from, in colocated
// data parallelism. A group (the G samples of one prompt) is never split between ranks.
//
// Minibatch k of a step is the same set of groups whatever the number of ranks: with P groups
// per step and M minibatches, minibatch k holds groups [k P/M, (k+1) P/M), and rank r owns the
// r-th of the W equal slices of it. A rank keeps its groups ordered by minibatch, so its local
// minibatch k is its part of the global minibatch k, and the ranks' summed gradients equal the
// gradient one rank computes on all of them. Hence P must be a multiple of W x M.
//
//   P = 8, M = 2, W = 2:   minibatch 0: groups 0 1 | 2 3    minibatch 1: groups 4 5 | 6 7
//                                        rank 0  | rank 1                 rank 0  | rank 1
//   rank 0 runs groups 0 1 4 5; rank 1 runs 2 3 6 7.
// Immutable value type; safe from any thread.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace gspo::runner {

class GroupShard {
 public:
  // kInvalidArgument, naming training.prompts_per_step, unless prompts_per_step is a multiple of
  // world_size x minibatches (any prompts_per_step with one rank).
  static common::StatusOr<GroupShard> Create(int rank, int world_size,
                                             std::int64_t prompts_per_step,
                                             std::int64_t minibatches);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  std::int64_t groups_per_rank() const { return prompts_per_step_ / world_size_; }
  // The step-wide index of this rank's `local`-th group (0 <= local < groups_per_rank()).
  std::int64_t GlobalGroup(std::int64_t local) const;

 private:
  GroupShard(int rank, int world_size, std::int64_t prompts_per_step, std::int64_t minibatches)
      : rank_(rank),
        world_size_(world_size),
        prompts_per_step_(prompts_per_step),
        minibatches_(minibatches) {}

  int rank_;
  int world_size_;
  std::int64_t prompts_per_step_;
  std::int64_t minibatches_;
};

}  // namespace gspo::runner
