// Gemma 2 and Gemma 3 (text): embeddings scaled by sqrt(hidden), RMSNorm with (1 + w), norms
// before and after attention and MLP, GeGLU with tanh-approximate GELU, query scale
// query_pre_attn_scalar^-0.5, and local (sliding-window) layers between global ones.
// Gemma 2 adds tanh soft-caps on attention scores and final logits and alternates local/global;
// Gemma 3 adds QK-norm, five local layers per global one, and a separate RoPE base for local
// layers (global layers may use linear RoPE scaling).
#include <cmath>

#include "worker/engine/model/architectures.h"

namespace gspo::engine {
namespace {

common::Status ConfigureGemmaCommon(const ConfigReader& reader, ModelConfig* c) {
  c->scale_embeddings = true;
  c->norm_adds_one = true;
  c->sandwich_norms = true;
  if (!reader.Has("hidden_activation") && !reader.Has("hidden_act")) {
    c->activation = Activation::kGeluTanh;
  }
  GSPO_ASSIGN_OR_RETURN(c->tie_word_embeddings, reader.BoolOr("tie_word_embeddings", true));
  GSPO_ASSIGN_OR_RETURN(double query_scalar, reader.NumberOr("query_pre_attn_scalar", 256));
  if (!(query_scalar > 0))
    return reader.Error("query_pre_attn_scalar", "expected a positive number");
  c->attention_scale = 1.0 / std::sqrt(query_scalar);
  GSPO_ASSIGN_OR_RETURN(c->attn_logit_softcap, reader.OptionalNumber("attn_logit_softcapping"));
  GSPO_ASSIGN_OR_RETURN(c->final_logit_softcap, reader.OptionalNumber("final_logit_softcapping"));
  GSPO_ASSIGN_OR_RETURN(c->sliding_window, reader.IntOr("sliding_window", 4096));
  if (c->sliding_window <= 0) return reader.Error("sliding_window", "expected a positive integer");
  return common::Status::Ok();
}

}  // namespace

common::Status ConfigureGemma2(const ConfigReader& reader, ModelConfig* c) {
  GSPO_RETURN_IF_ERROR(ConfigureGemmaCommon(reader, c));
  GSPO_ASSIGN_OR_RETURN(RopeSpec rope, ReadModelRope(reader, 10000));
  GSPO_ASSIGN_OR_RETURN(auto types, ReadLayerTypes(reader, c->num_layers));
  for (std::int64_t i = 0; i < c->num_layers; ++i) {
    // Even layers are local in Gemma 2.
    c->layers.push_back({types ? (*types)[i] : i % 2 == 0, rope});
  }
  return common::Status::Ok();
}

common::Status ConfigureGemma3(const ConfigReader& reader, ModelConfig* c) {
  GSPO_RETURN_IF_ERROR(ConfigureGemmaCommon(reader, c));
  c->qk_norm = true;
  RopeSpec global, local;
  if (const common::Json* params = reader.object().Find("rope_parameters");
      params != nullptr && params->is_object() && params->Find("full_attention") != nullptr) {
    // Newer configs: one RoPE object per layer type.
    GSPO_ASSIGN_OR_RETURN(global, ReadRope(reader, params->Find("full_attention"), 1e6));
    GSPO_ASSIGN_OR_RETURN(local, ReadRope(reader, params->Find("sliding_attention"), 1e4));
  } else {
    GSPO_ASSIGN_OR_RETURN(double theta, reader.NumberOr("rope_theta", 1e6));
    GSPO_ASSIGN_OR_RETURN(global, ReadRope(reader, reader.object().Find("rope_scaling"), theta));
    GSPO_ASSIGN_OR_RETURN(local.base, reader.NumberOr("rope_local_base_freq", 10000));
  }
  GSPO_ASSIGN_OR_RETURN(auto types, ReadLayerTypes(reader, c->num_layers));
  GSPO_ASSIGN_OR_RETURN(std::int64_t pattern, reader.IntOr("sliding_window_pattern", 6));
  if (pattern <= 0) return reader.Error("sliding_window_pattern", "expected a positive integer");
  for (std::int64_t i = 0; i < c->num_layers; ++i) {
    // Every pattern-th layer is global: 5 local layers, then 1 global.
    const bool sliding = types ? (*types)[i] : (i + 1) % pattern != 0;
    c->layers.push_back({sliding, sliding ? local : global});
  }
  return common::Status::Ok();
}

}  // namespace gspo::engine
