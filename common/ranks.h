// Rank checks shared by the communicators (Gloo, NCCL) and the data sharding, so that a rank or
// world size out of range reads the same wherever it is caught.
//
// Pure functions; safe from any thread.
#ifndef GSPO_COMMON_RANKS_H_
#define GSPO_COMMON_RANKS_H_

#include <string_view>

#include "common/status.h"

namespace gspo::common {

// kInvalidArgument unless world_size >= 1 and 0 <= rank < world_size.
Status CheckRankInWorld(int rank, int world_size);

// kInvalidArgument, naming `call` (e.g. "broadcast"), unless 0 <= root < world_size.
Status CheckRootRank(std::string_view call, int root, int world_size);

}  // namespace gspo::common

#endif  // GSPO_COMMON_RANKS_H_
