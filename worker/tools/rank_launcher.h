// Local data-parallel ranks for `gspo train --nproc N`.
//
//   gspo train job.yaml --nproc 2
//     └─ launcher: validates the job, makes a fresh store directory, starts N processes (rank R
//        on cuda:R when CUDA is visible, NCCL between them; else CPU ranks over Gloo)
//          gspo train job.yaml ... --set resources.gpus=N
//                     --rank R --world-size N --dist-store DIR/store --dist-timeout S
//        forwards their output line by line ("[rank R] ..."), waits for them; when one fails it
//        stops the others (SIGTERM to each rank's process group, then SIGKILL after a grace
//        period) and exits non-zero with that rank's cause.
//
// --rank, --world-size and --dist-store are how the launcher talks to its ranks (not for users);
// --nproc, --dist-timeout and --threads are user flags. Torch-free. Stateless functions; the
// launcher owns its child processes until they exit and removes the store directory afterwards.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::tools {

struct RankFlags {
  int nproc = 0;           // --nproc; 0: not given
  double timeout_s = 600;  // --dist-timeout: rendezvous and each collective
  int rank = -1;           // --rank; -1: not a launched rank
  int world_size = 0;      // --world-size
  std::string store;       // --dist-store
  int threads = 0;         // --threads: intra-op threads per rank; 0: cores / ranks
};

// Removes the flags above from `args` and returns them; kInvalidArgument for a bad value or a
// partial set of --rank / --world-size / --dist-store.
common::StatusOr<RankFlags> ExtractRankFlags(std::vector<std::string>* args);

// The arguments of rank `rank` of `nproc`: `train_args` (without the flags above) followed by the
// world size as resources.gpus and the rank flags.
std::vector<std::string> RankArguments(const std::vector<std::string>& train_args, int rank,
                                       int nproc, const std::string& store, double timeout_s,
                                       int threads = 0);

// Starts ranks 0..nproc-1 as `executable train <RankArguments>`, waits for all; returns the exit
// code for the launcher: 0 when every rank succeeded, else the failing rank's (1 or 2).
// `backend` only names the ranks' communicator in the first line printed. The ranks inherit
// NCCL_NVLS_ENABLE=0 unless it is set (NVLink multicast stays off on shared hosts).
int LaunchRanks(const std::string& executable, const std::vector<std::string>& train_args,
                int nproc, double timeout_s, int threads = 0, const std::string& backend = "Gloo");

}  // namespace gspo::tools
