// Training's forward passes record a few composite functions as single autograd nodes with
// written-out backward passes (model/lora_linear.h, model/mlp_node.h, the soft-capped eager
// attention in model/attention.cc, the rotation in model/rope.cc): far fewer
// operators and nodes for the host to dispatch per layer. GSPO_TRAINING_NODES=0 (read once)
// records the composed LibTorch operators instead, to compare. Thread-safe.
#pragma once

namespace gspo::engine {

bool TrainingNodesSwitchedOn();

}  // namespace gspo::engine
