// ModelConfig: a Hugging Face config.json for the decoder families the engine runs (gemma2,
// gemma3_text and the text part of gemma3, qwen2, qwen3, llama), normalised into one struct of
// architecture switches, with hub-style fields (rope_scaling, sliding_window_pattern,
// query_pre_attn_scalar, layer_types) resolved per layer.
//
// Plain value type; immutable after parsing; safe to share across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::engine {

enum class Activation { kGeluTanh, kGelu, kSilu };

struct RopeSpec {
  double base = 10000.0;
  std::string scaling = "default";  // default | linear | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;          // llama3
  double high_freq_factor = 4.0;         // llama3
  double original_max_positions = 8192;  // llama3
};

struct LayerSpec {
  bool sliding = false;  // attends to the last `sliding_window` positions only
  RopeSpec rope;
};

struct ModelConfig {
  std::string model_type;  // gemma2 | gemma3_text | qwen2 | qwen3 | llama
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;

  // Architecture switches.
  Activation activation = Activation::kSilu;
  bool scale_embeddings = false;  // Gemma: embeddings * sqrt(hidden), in the model dtype
  bool norm_adds_one = false;     // Gemma: RMSNorm scales by (1 + w)
  bool sandwich_norms = false;    // Gemma: post-attention and pre/post-FFN norms
  bool qk_norm = false;           // Gemma 3, Qwen 3: RMSNorm on q and k per head
  bool qkv_bias = false;          // Qwen 2 (q, k, v); Llama and Qwen 3 with attention_bias
  bool o_bias = false;            // Llama and Qwen 3 with attention_bias
  double attention_scale = 0;     // multiplies q.k (query_pre_attn_scalar^-0.5 or head_dim^-0.5)
  std::optional<double> attn_logit_softcap;   // tanh(x / c) * c on attention scores
  std::optional<double> final_logit_softcap;  // and on the final logits
  std::int64_t sliding_window = 0;            // 0: no sliding layers
  std::vector<LayerSpec> layers;

  // Where the decoder's tensors live in the checkpoint: "model." for text checkpoints,
  // "language_model.model." for a multimodal Gemma 3 checkpoint.
  std::string weight_prefix = "model.";
  std::string lm_head_name = "lm_head.weight";
};

// Parses config.json text; errors name `source` and the field.
common::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text,
                                               const std::string& source);

// Reads DIR/config.json.
common::StatusOr<ModelConfig> LoadModelConfig(const std::string& model_dir);

}  // namespace gspo::engine
