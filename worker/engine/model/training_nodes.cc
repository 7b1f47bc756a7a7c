#include "worker/engine/model/training_nodes.h"

#include <cstdlib>
#include <string_view>

namespace gspo::engine {

bool TrainingNodesSwitchedOn() {
  static const bool on = [] {
    const char* value = std::getenv("GSPO_TRAINING_NODES");
    return value == nullptr || std::string_view(value) != "0";
  }();
  return on;
}

}  // namespace gspo::engine
