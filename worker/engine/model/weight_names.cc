#include "worker/engine/model/weight_names.h"

namespace gspo::engine {

std::string LayerWeightName(const ModelConfig& c, std::int64_t layer, const std::string& suffix) {
  return c.weight_prefix + "layers." + std::to_string(layer) + "." + suffix;
}

std::vector<WeightSpec> ExpectedWeights(const ModelConfig& c) {
  const std::int64_t e = c.hidden_size, f = c.intermediate_size, d = c.head_dim;
  const std::int64_t q_out = c.num_heads * d, kv_out = c.num_kv_heads * d;
  std::vector<WeightSpec> specs;
  specs.push_back(
      {c.weight_prefix + "embed_tokens.weight", {c.vocab_size, e}, WeightKind::kEmbedding});
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto add = [&](const std::string& suffix, std::vector<std::int64_t> shape,
                         WeightKind kind) {
      specs.push_back({LayerWeightName(c, i, suffix), std::move(shape), kind});
    };
    add("self_attn.q_proj.weight", {q_out, e}, WeightKind::kMatrix);
    add("self_attn.k_proj.weight", {kv_out, e}, WeightKind::kMatrix);
    add("self_attn.v_proj.weight", {kv_out, e}, WeightKind::kMatrix);
    add("self_attn.o_proj.weight", {e, q_out}, WeightKind::kMatrix);
    if (c.qkv_bias) {
      add("self_attn.q_proj.bias", {q_out}, WeightKind::kBias);
      add("self_attn.k_proj.bias", {kv_out}, WeightKind::kBias);
      add("self_attn.v_proj.bias", {kv_out}, WeightKind::kBias);
    }
    if (c.o_bias) add("self_attn.o_proj.bias", {e}, WeightKind::kBias);
    if (c.qk_norm) {
      add("self_attn.q_norm.weight", {d}, WeightKind::kNorm);
      add("self_attn.k_norm.weight", {d}, WeightKind::kNorm);
    }
    add("mlp.gate_proj.weight", {f, e}, WeightKind::kMatrix);
    add("mlp.up_proj.weight", {f, e}, WeightKind::kMatrix);
    add("mlp.down_proj.weight", {e, f}, WeightKind::kMatrix);
    add("input_layernorm.weight", {e}, WeightKind::kNorm);
    add("post_attention_layernorm.weight", {e}, WeightKind::kNorm);
    if (c.sandwich_norms) {
      add("pre_feedforward_layernorm.weight", {e}, WeightKind::kNorm);
      add("post_feedforward_layernorm.weight", {e}, WeightKind::kNorm);
    }
  }
  specs.push_back({c.weight_prefix + "norm.weight", {e}, WeightKind::kNorm});
  if (!c.tie_word_embeddings)
    specs.push_back({c.lm_head_name, {c.vocab_size, e}, WeightKind::kMatrix});
  return specs;
}

}  // namespace gspo::engine
