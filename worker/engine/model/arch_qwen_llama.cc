// Qwen 2 (q/k/v biases), Qwen 3 (QK-norm, explicit head_dim) and Llama 3 (llama3 RoPE scaling):
// plain RMSNorm, SwiGLU MLP, query scale head_dim^-0.5, no soft-caps.
#include "worker/engine/model/architectures.h"

namespace gspo::engine {
namespace {

common::Status ConfigureLayers(const ConfigReader& reader, bool sliding_from_max_window_layers,
                               ModelConfig* c) {
  GSPO_ASSIGN_OR_RETURN(RopeSpec rope, ReadModelRope(reader, 10000));
  GSPO_ASSIGN_OR_RETURN(auto types, ReadLayerTypes(reader, c->num_layers));
  std::int64_t first_sliding = c->num_layers;
  if (sliding_from_max_window_layers) {
    GSPO_ASSIGN_OR_RETURN(bool use_sliding, reader.BoolOr("use_sliding_window", false));
    if (use_sliding && reader.Has("sliding_window")) {
      GSPO_ASSIGN_OR_RETURN(c->sliding_window, reader.Int("sliding_window"));
      GSPO_ASSIGN_OR_RETURN(first_sliding, reader.IntOr("max_window_layers", c->num_layers));
    }
  }
  for (std::int64_t i = 0; i < c->num_layers; ++i) {
    c->layers.push_back({types ? (*types)[i] : i >= first_sliding, rope});
  }
  if (types && c->sliding_window == 0) {
    for (const LayerSpec& layer : c->layers) {
      if (layer.sliding) {
        GSPO_ASSIGN_OR_RETURN(c->sliding_window, reader.Int("sliding_window"));
        break;
      }
    }
  }
  return common::Status::Ok();
}

}  // namespace

common::Status ConfigureQwen(const ConfigReader& reader, ModelConfig* c) {
  GSPO_ASSIGN_OR_RETURN(c->tie_word_embeddings, reader.BoolOr("tie_word_embeddings", false));
  if (c->model_type == "qwen2") {
    c->qkv_bias = true;
  } else {
    c->qk_norm = true;
    GSPO_ASSIGN_OR_RETURN(c->qkv_bias, reader.BoolOr("attention_bias", false));
    c->o_bias = c->qkv_bias;
  }
  return ConfigureLayers(reader, true, c);
}

common::Status ConfigureLlama(const ConfigReader& reader, ModelConfig* c) {
  GSPO_ASSIGN_OR_RETURN(c->tie_word_embeddings, reader.BoolOr("tie_word_embeddings", false));
  GSPO_ASSIGN_OR_RETURN(c->qkv_bias, reader.BoolOr("attention_bias", false));
  c->o_bias = c->qkv_bias;
  GSPO_ASSIGN_OR_RETURN(bool mlp_bias, reader.BoolOr("mlp_bias", false));
  if (mlp_bias) return reader.Error("mlp_bias", "MLP biases are not supported");
  return ConfigureLayers(reader, false, c);
}

}  // namespace gspo::engine
