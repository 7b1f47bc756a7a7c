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

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/attention.h"
#include "worker/engine/model/kv_cache.h"
#include "worker/engine/model/lora_linear.h"
#include "worker/engine/model/training_nodes.h"
#include "worker/engine/model/model_config.h"
#include "worker/engine/model/rope.h"
#include "worker/engine/quant/quantized_weight.h"

namespace gspo::engine {

// A low-rank adapter on a frozen linear layer: y += scale * B(A(dropout(x))). A and B are kept
// in float32 (the trained parameters) and cast to the activations' dtype on use.
struct LoraAdapter {
  at::Tensor a;  // [r, in]
  at::Tensor b;  // [out, r]
  double scale = 1.0;
  double dropout = 0.0;
  // Copies for the fused decode step, in the model dtype, B pre-multiplied by `scale`; filled
  // in place by DecoderModel::PrepareDecodeAdapters so that recorded decode graphs see updates.
  at::Tensor a_decode, b_decode;
};

struct Linear {
  at::Tensor weight;  // [out, in], frozen; undefined when `quantized` holds it
  at::Tensor bias;    // [out] or undefined
  std::shared_ptr<LoraAdapter> lora;  // null: no adapter on this layer
  std::shared_ptr<const QuantizedWeight> quantized;  // the weight in 4 or 8 bits (QLoRA)

  std::int64_t out_features() const { return quantized ? quantized->out_features() : weight.size(0); }
  std::int64_t in_features() const { return quantized ? quantized->in_features() : weight.size(1); }
  // The weight as a dense tensor in its original dtype (dequantized when quantized).
  at::Tensor DenseWeight() const { return quantized ? quantized->Dequantize(quantized->original_dtype()) : weight; }

  at::Tensor operator()(const at::Tensor& x, bool use_lora = true, bool training = false) const {
    if (!lora || !use_lora) return quantized ? QuantizedLinear(x, *quantized, bias) : at::linear(x, weight, bias);
    const at::Tensor in = lora->dropout > 0 && training ? at::dropout(x, lora->dropout, true) : at::Tensor();
    if (TrainingNodesSwitchedOn()) {
      if (!quantized) return AdaptedLinear(x, in, weight, bias, lora->a, lora->b, lora->scale);
      return QuantizedLinear(x, *quantized, bias) + AdaptedLinear(x, in, {}, {}, lora->a, lora->b, lora->scale);
    }
    const at::Tensor y = quantized ? QuantizedLinear(x, *quantized, bias) : at::linear(x, weight, bias);
    return y + at::linear(at::linear(in.defined() ? in : x, lora->a.to(x.scalar_type())),
                          lora->b.to(x.scalar_type())) *
                   lora->scale;
  }
};

struct DecoderLayerWeights {
  Linear q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
  // q, k and v (and gate and up) stacked in one buffer: their weights above are row ranges of
  // it, so a decode step runs one matrix product for them without a second copy.
  at::Tensor qkv_weight, qkv_bias;  // [(H+2K)*D (+ adapter rows), E]; bias undefined when none
  at::Tensor gate_up_weight;        // [2F, E]
  // With adapters attached (DecoderModel::ReserveAdapterRows), q/k/v's stacked A matrices (and
  // o_proj's A) are rows after the base rows of qkv_weight (of o_weight, whose first rows are
  // o_proj.weight): the decode step's base product then also computes x A^T. 0: none.
  at::Tensor o_weight;  // [E + r, H*D] when o_adapter_rows > 0
  std::int64_t qkv_adapter_rows = 0, o_adapter_rows = 0;
  at::Tensor input_norm, post_attention_norm, pre_ffn_norm, post_ffn_norm;  // [E]
  at::Tensor q_norm, k_norm;                                                // [D]
};

struct ForwardInput {
  at::Tensor input_ids;  // [B,T] int64
  at::Tensor positions;  // [B,T] int64; empty: cache length + 0..T-1
  at::Tensor valid;      // [B,T] bool, false for padding; empty: all true
  bool use_adapters = true;  // false: the base model (the free reference policy of LoRA)
  bool training = false;     // enables LoRA dropout
  // Static-shape decoding (KvCache::UpdateAtColumn): [1] int64 on the model's device, the
  // cache column this step's single token per row is written to. Requires a cache, T = 1 and
  // positions; the step then launches no host synchronisation, so it can be graph-captured.
  at::Tensor cache_column;
  // Gradient checkpointing (no cache): each layer keeps only its input and is run again in
  // backward (layer_checkpoint.h).
  bool checkpoint_layers = false;
};

// Rows that start with the same tokens by groups (a prompt and its G samples): the first
// `prefix` positions of each group are run once, from the group's leader row, and every row's
// remaining positions attend over its group's prefix keys (DecoderModel::SharedPrefixHidden).
// The index tensors may live on the host (they are copied without waiting) or on the device.
struct SharedPrefix {
  std::int64_t prefix = 0;  // P leading positions shared within each group; 0: nothing shared
  at::Tensor leaders;       // [G] int64: the row whose prefix each group runs
  at::Tensor group_of_row;  // [N] int64: each row's index into `leaders`
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

  // How attention over more than one query is computed (attention.h); kAuto until set.
  // kInvalidArgument for kScaledDotProduct on a soft-capped model (Gemma 2): the fused kernels
  // cannot apply the cap. Set before use; not while a pass runs.
  common::Status SetAttentionImplementation(AttentionImplementation implementation);
  AttentionImplementation attention_implementation() const { return attention_implementation_; }

  // Final hidden states [B,T,E]. With a cache, the step's keys are appended to it.
  at::Tensor Hidden(const ForwardInput& input, KvCache* cache = nullptr) const;
  // Final hidden states of positions P..T-1 of every row [N, T-P, E] (P = shared.prefix), as
  // Hidden computes them without a cache, up to float summation order; the prefix runs once per
  // group, packed with the rows' remaining positions into one sequence through the layers, so a
  // layer runs each operator once. Gradients of the prefix sum over its group's rows. Requires
  // 0 < P < T, no positions (the rows count from 0) and rows equal to their leaders on [0, P)
  // (ids and validity; PlanPromptSharing checks this). Honours checkpoint_layers.
  at::Tensor SharedPrefixHidden(const ForwardInput& input, const SharedPrefix& shared) const;
  // Logits [B,T,V] in the model dtype (soft-capped where the architecture says so).
  at::Tensor Logits(const at::Tensor& hidden_bte) const;
  at::Tensor Forward(const ForwardInput& input, KvCache* cache = nullptr) const {
    return Logits(Hidden(input, cache));
  }
  // Logits before the final soft-cap (the fused sampler applies it): [B,V], or written into
  // `out` [B,V] in the model dtype without allocating (a recorded decode step).
  at::Tensor RawLogits(const at::Tensor& hidden_be) const { return at::linear(hidden_be, lm_head_); }
  // The vocabulary projection's weight [V,E] (frozen; the embedding when tied).
  const at::Tensor& lm_head() const { return lm_head_; }
  void RawLogitsInto(const at::Tensor& hidden_be, at::Tensor& out) const { at::mm_out(out, hidden_be, lm_head_.t()); }

  // Whether one-token cache_column steps run through the fused CUDA kernels
  // (worker/engine/kernels/): CUDA, float32 or bfloat16, supported head shapes, and
  // GSPO_FUSED_DECODE not 0. Otherwise they run the reference layers.
  bool FusedDecodeAvailable() const;
  // Refreshes the adapters' decode copies from their trained values. Call before decoding
  // with adapters on the fused path (the rollout engine does, once per Generate); not while a
  // decode step runs on another thread.
  void PrepareDecodeAdapters() const;
  // Gives the stacked q/k/v buffer and o_proj's weight room for the attached adapters' A rows
  // (LoraAdapters::Attach calls it); the base weights become row ranges of the new buffers.
  // Skips layers with quantized or biased projections. Not thread-safe: call before use.
  void ReserveAdapterRows();

  // Every weight under its Hugging Face name (quantized projections dequantized).
  std::map<std::string, at::Tensor> NamedWeights() const;

  // The same, each weight made only when asked (a quantized projection is dequantized by the
  // call), with its size known before: writers that hold one shard at a time never hold every
  // dense weight at once. The functions borrow the model.
  struct LazyWeight {
    std::int64_t bytes = 0;
    std::function<at::Tensor()> make;
  };
  std::map<std::string, LazyWeight> LazyWeights() const;

  // Replaces the frozen projection weights (q/k/v/o/gate/up/down) by their 4- or 8-bit form
  // (quantized_weight.h), freeing the dense ones; embeddings, norms and the LM head stay. Call
  // before attaching adapters. Decoding then takes the reference layers, not the fused step.
  void QuantizeBaseWeights(const QuantizeOptions& options);
  // Bytes of the weights on the device (quantized ones at their stored size).
  std::int64_t WeightBytes() const;

  // The projection `module` (q_proj ... down_proj) of `layer`, e.g. to attach an adapter;
  // nullptr for an unknown module name.
  Linear* MutableProjection(std::int64_t layer, const std::string& module);

 private:
  DecoderModel(ModelConfig config, at::ScalarType dtype, at::Device device);

  struct StepShared;  // what the layers of one forward pass compute once (decoder_pass.h)
  struct PackedRows;  // a SharedPrefixHidden pass's two parts (decoder_pass.h)
  struct Heads {
    at::Tensor out;   // [B,T,H*D] attention output, before o_proj
    at::Tensor k, v;  // [B,K,T,D] this step's keys (after rotary) and values
  };

  at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight) const;
  at::Tensor Attention(std::int64_t layer, const at::Tensor& x_bte, const at::Tensor& positions_bt,
                       const at::Tensor& valid_bt, const ForwardInput& mode, KvCache* cache,
                       StepShared* shared) const;
  // Rotary, then attention of q [B,T,H*D] over k, v [B,T,K*D] (appended to `cache`, or after
  // `before`'s keys: a shared prefix's, per row), masked by the keys' positions and validity.
  Heads AttendHeads(std::int64_t layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& positions_bt, const at::Tensor& valid_bt, const ForwardInput& mode,
                    KvCache* cache, StepShared* shared, const AttentionKeys* before) const;
  // Attention of a packed pass (decoder_packed_pass.cc) from its projections q, k, v
  // [1, G*P + N*R, heads*D]: the output [1, G*P + N*R, H*D] before o_proj.
  at::Tensor AttendPacked(std::int64_t layer, at::Tensor q, at::Tensor k, const at::Tensor& v,
                          const ForwardInput& mode, StepShared* shared) const;
  at::Tensor Mlp(const DecoderLayerWeights& w, const at::Tensor& x, const ForwardInput& mode) const;
  // Embedding (scaled for Gemma) of ids [B,T] on the model's device.
  at::Tensor Embed(const at::Tensor& ids) const;
  // Every layer over x, checkpointed per layer when input asks and no cache is used.
  at::Tensor RunLayers(at::Tensor x, const at::Tensor& positions, const at::Tensor& valid,
                       const ForwardInput& input, KvCache* cache,
                       const std::shared_ptr<const PackedRows>& packed) const;
  at::Tensor Layer(std::int64_t index, const at::Tensor& x, const at::Tensor& positions,
                   const at::Tensor& valid, const ForwardInput& mode, KvCache* cache,
                   StepShared* shared) const;

  // The fused one-token step (decoder_fused_step.cc); requires FusedDecodeAvailable().
  at::Tensor FusedDecodeHidden(const ForwardInput& input, KvCache* cache) const;
  bool CanFuseDecode(const ForwardInput& input, const KvCache* cache) const;
  static bool FusedShapesSupported(const ModelConfig& config);
  const at::Tensor& NormScale(const at::Tensor& weight) const;
  // The dense weight of `parts` stacked by rows for the fused step: `stacked` when the model
  // keeps one, else the parts dequantized into `decode_weight_` (valid until the next call).
  at::Tensor DecodeWeight(const at::Tensor& stacked, std::initializer_list<const Linear*> parts) const;

  ModelConfig config_;
  at::ScalarType dtype_;
  at::Device device_;
  at::Tensor embed_tokens_;  // [V,E]
  at::Tensor final_norm_;    // [E]
  at::Tensor lm_head_;       // [V,E], the embedding when tied
  std::vector<DecoderLayerWeights> layers_;
  std::vector<std::shared_ptr<RotaryEmbedding>> rope_;  // per layer, shared between equal specs
  // Decode copies of one layer's adapters on the stacked projections: the A of every adapted
  // module among q/k/v (gate/up) stacked, B block-diagonal at those modules' output rows
  // (zeros elsewhere) with the scale folded in, so a stack costs one product pair, not one per
  // module. Undefined when no module of the stack is adapted. Written by PrepareDecodeAdapters.
  struct StackedAdapter {
    at::Tensor a;  // [sum of r, E]
    at::Tensor b;  // [stacked rows, sum of r]
  };
  struct DecodeAdapters {
    StackedAdapter qkv, gate_up;
  };
  mutable std::vector<DecodeAdapters> decode_adapters_;  // per layer, once prepared
  // Quantized models: one projection's dense weight at a time during the fused decode step
  // (sized for the largest, allocated by the first step, which runs before any graph records).
  // The decode step is single-threaded like the rest of the model's use.
  mutable at::Tensor decode_weight_;

  // Each norm weight's float32 scale (Gemma: 1 + w; others: w), computed once at load, keyed
  // by the weight's storage. Immutable after FromTensors.
  std::map<const void*, at::Tensor> norm_scales_;
  bool fusable_shapes_ = false;  // the fused kernels have variants for this model's shapes
  AttentionImplementation attention_implementation_ = AttentionImplementation::kAuto;
};

}  // namespace gspo::engine
