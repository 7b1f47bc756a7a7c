#include "common/ranks.h"

#include <string>

namespace gspo::common {

Status CheckRankInWorld(int rank, int world_size) {
  if (world_size < 1) {
    return InvalidArgumentError("world size must be at least 1, got " + std::to_string(world_size));
  }
  if (rank < 0 || rank >= world_size) {
    return InvalidArgumentError("rank " + std::to_string(rank) + " outside a world of " +
                                std::to_string(world_size));
  }
  return Status::Ok();
}

Status CheckRootRank(std::string_view call, int root, int world_size) {
  if (root < 0 || root >= world_size) {
    return InvalidArgumentError(std::string(call) + ": root rank " + std::to_string(root) +
                                " outside a world of " + std::to_string(world_size));
  }
  return Status::Ok();
}

}  // namespace gspo::common
