// The tensors a decoder checkpoint must hold, with their shapes, in Hugging Face naming
// ("model.layers.3.self_attn.q_proj.weight"). The loader checks a checkpoint against this list
// and `gspo init-model` writes exactly this list.
// Stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/engine/model/model_config.h"

namespace gspo::engine {

enum class WeightKind { kMatrix, kBias, kEmbedding, kNorm };

struct WeightSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  WeightKind kind;
};

std::vector<WeightSpec> ExpectedWeights(const ModelConfig& config);

// "model.layers.<layer>.<suffix>" with the config's prefix.
std::string LayerWeightName(const ModelConfig& config, std::int64_t layer,
                            const std::string& suffix);

}  // namespace gspo::engine
