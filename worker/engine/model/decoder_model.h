// DecoderModel: a Hugging Face decoder (Gemma 2/3, Qwen 2/3, Llama 3) in LibTorch, driven by
// ModelConfig's switches. Forward over a full sequence (training, scoring) or prefill plus
// one-token steps with a KvCache (generation).
//
//   input_ids ─▶ embed (× sqrt(E) for Gemma) ─▶ N × DecoderLayer ─▶ norm ─▶ lm_head (soft-cap)
//   DecoderLayer: x + [post-norm] Attention(norm(x)); then x + [post-norm] MLP(norm(x))
//
// Shape legend: B batch, T new tokens, S keys attended, H query heads, K kv heads, D head_dim,
// E hidden, F intermediate, V vocab.
// Owns its weights. Forward is const and may run from several threads on different inputs;
// loading is not thread-safe. Misuse of shapes throws (c10::Error); file problems are Status.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/kv_cache.h"
#include "worker/engine/model/model_config.h"
#include "worker/engine/model/rope.h"

namespace gspo::engine {

struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined
  at::Tensor operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }
};

struct DecoderLayerWeights {
  Linear q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
  at::Tensor input_norm, post_attention_norm, pre_ffn_norm, post_ffn_norm;  // [E]
  at::Tensor q_norm, k_norm;                                                // [D]
};

struct ForwardInput {
  at::Tensor input_ids;  // [B,T] int64
  at::Tensor positions;  // [B,T] int64; empty: cache length + 0..T-1
  at::Tensor valid;      // [B,T] bool, false for padding; empty: all true
};

class DecoderModel {
 public:
  // Loads DIR (config.json + safetensors) in `dtype` onto `device`, checking every tensor's
  // presence and shape. Errors name the file and the tensor.
  static common::StatusOr<std::unique_ptr<DecoderModel>> Load(const std::string& dir,
                                                              at::ScalarType dtype,
                                                              at::Device device);
  // From tensors already in memory (Hugging Face names), e.g. a fresh random initialisation.
  static common::StatusOr<std::unique_ptr<DecoderModel>> FromTensors(
      ModelConfig config, const std::map<std::string, at::Tensor>& tensors, at::ScalarType dtype,
      at::Device device, const std::string& source);

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  at::Device device() const { return device_; }

  // Final hidden states [B,T,E]. With a cache, the step's keys are appended to it.
  at::Tensor Hidden(const ForwardInput& input, KvCache* cache = nullptr) const;
  // Logits [B,T,V] in the model dtype (soft-capped where the architecture says so).
  at::Tensor Logits(const at::Tensor& hidden_bte) const;
  at::Tensor Forward(const ForwardInput& input, KvCache* cache = nullptr) const {
    return Logits(Hidden(input, cache));
  }

  // Every weight under its Hugging Face name.
  std::map<std::string, at::Tensor> NamedWeights() const;

 private:
  DecoderModel(ModelConfig config, at::ScalarType dtype, at::Device device);

  at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight) const;
  at::Tensor Attention(std::int64_t layer, const at::Tensor& x_bte, const at::Tensor& positions_bt,
                       const at::Tensor& valid_bt, KvCache* cache) const;
  at::Tensor Mlp(const DecoderLayerWeights& w, const at::Tensor& x) const;

  ModelConfig config_;
  at::ScalarType dtype_;
  at::Device device_;
  at::Tensor embed_tokens_;  // [V,E]
  at::Tensor final_norm_;    // [E]
  at::Tensor lm_head_;       // [V,E], the embedding when tied
  std::vector<DecoderLayerWeights> layers_;
  std::vector<std::shared_ptr<RotaryEmbedding>> rope_;  // per layer, shared between equal specs
};

}  // namespace gspo::engine
