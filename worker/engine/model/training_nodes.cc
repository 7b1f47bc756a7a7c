#include "worker/engine/model/training_nodes.h"

#include "worker/engine/env_switch.h"

namespace gspo::engine {

bool TrainingNodesSwitchedOn() {
  static const bool on = SwitchedOn("GSPO_TRAINING_NODES");
  return on;
}

}  // namespace gspo::engine
