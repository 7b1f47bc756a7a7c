// GlooCommunicator: the Communicator of CPU ranks, over c10d's ProcessGroupGloo (TCP between
// the ranks) with a c10d::FileStore for the rendezvous: every rank opens the same store file,
// publishes its address there and connects to the others. The store file must be new for each
// run (a file left by an earlier run would hand out its stale addresses) and on a file system
// every rank sees; `gspo train --nproc N` makes one in a fresh temporary directory.
//
// Float32 only (communicator.h). The timeout bounds the rendezvous and every collective: a rank
// that never joins, dies or hangs makes the others fail after at most that long (a rank that dies
// usually closes its connections, and the others fail at once).
// Subgroups (CreateGlooCommunicators): further process groups over the same store file, each
// under its own key prefix, so ranks can run collectives among a subset of the world (e.g. the
// learner ranks of a disaggregated job). A subgroup's communicator numbers its members 0..n-1 in
// the order listed; each group has its own collective order, independent of the others.
// Ownership: Create returns the only owner. Not thread-safe (communicator.h); different
// communicators of one process may be used from different threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/dist/communicator.h"

namespace gspo::engine {

struct GlooOptions {
  std::string store_path;  // the FileStore file, shared by the ranks
  int rank = 0;
  int world_size = 1;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::string hostname = "127.0.0.1";  // address this rank listens on (local ranks: loopback)
};

// Whether this build has the Gloo backend (LibTorch compiled with it, and its headers found).
bool GlooAvailable();

// Joins the group: returns once every rank has joined, or fails after the timeout
// (kDeadlineExceeded), or at once on bad options (kInvalidArgument) or, without Gloo in the
// build, kUnimplemented.
common::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(const GlooOptions& options);

using GlooSubgroup = Subgroup;
using GlooCommunicators = CommunicatorGroups;

// The world and the subgroups this rank belongs to, joined in the order listed (every rank lists
// the same subgroups). Errors as CreateGlooCommunicator; kInvalidArgument for a bad subgroup.
common::StatusOr<GlooCommunicators> CreateGlooCommunicators(
    const GlooOptions& options, const std::vector<GlooSubgroup>& subgroups);

}  // namespace gspo::engine
