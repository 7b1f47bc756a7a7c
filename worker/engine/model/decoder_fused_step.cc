// DecoderModel's fused one-token decode step: per layer four matrix products (q/k/v stacked,
// o, gate/up stacked, down) and five fused kernels (rotary + cache write, attention, residual
// add + two norms, gated activation, residual add + the next layer's norm), instead of about
// fifty LibTorch kernels. Adapters add one low-rank product pair per adapted projection from
// their decode copies. Computes what DecoderModel::Layer does, rounding where it rounds.
#include <c10/core/GradMode.h>

#include <cmath>

#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/model/decoder_model.h"

namespace gspo::engine {
namespace {

// y += B(A(x)) with the adapter's decode copies (B already scaled); y may be a column range.
void AddAdapter(const Linear& linear, const at::Tensor& x, at::Tensor y) {
  if (!linear.lora) return;
  y.addmm_(at::mm(x, linear.lora->a_decode.t()), linear.lora->b_decode.t());
}

at::Tensor Project(const Linear& linear, const at::Tensor& x, bool adapters) {
  at::Tensor y = at::linear(x, linear.weight, linear.bias);
  if (adapters) AddAdapter(linear, x, y);
  return y;
}

bool AdaptersPrepared(const Linear& linear) {
  return !linear.lora || (linear.lora->a_decode.defined() && linear.lora->b_decode.defined());
}

}  // namespace

bool DecoderModel::FusedShapesSupported(const ModelConfig& c) {
  const fused::HeadShape shape{c.num_heads, c.num_kv_heads, c.head_dim};
  return fused::AttentionSupports(shape);
}

bool DecoderModel::FusedDecodeAvailable() const { return fusable_shapes_ && fused::Available(embed_tokens_); }

bool DecoderModel::CanFuseDecode(const ForwardInput& input, const KvCache* cache) const {
  if (cache == nullptr || !input.cache_column.defined() || input.input_ids.size(1) != 1 || !FusedDecodeAvailable()) {
    return false;
  }
  if (c10::GradMode::is_enabled() || !input.positions.is_cuda() || !input.positions.is_contiguous()) return false;
  if (input.use_adapters) {
    for (const DecoderLayerWeights& w : layers_) {
      for (const Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj}) {
        if (!AdaptersPrepared(*l)) return false;
      }
    }
  }
  return true;
}

void DecoderModel::PrepareDecodeAdapters() const {
  c10::NoGradGuard no_grad;
  for (const DecoderLayerWeights& w : layers_) {
    for (const Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj}) {
      if (!l->lora) continue;
      LoraAdapter& lora = *l->lora;
      const at::Tensor b_scaled = lora.b.detach() * lora.scale;
      const bool fits = lora.a_decode.defined() && lora.a_decode.sizes() == lora.a.sizes() &&
                        lora.a_decode.scalar_type() == dtype_ && lora.b_decode.sizes() == lora.b.sizes();
      if (fits) {
        lora.a_decode.copy_(lora.a.detach());
        lora.b_decode.copy_(b_scaled);
      } else {
        lora.a_decode = lora.a.detach().to(device_, dtype_, /*non_blocking=*/false, /*copy=*/true);
        lora.b_decode = b_scaled.to(device_, dtype_, /*non_blocking=*/false, /*copy=*/true);
      }
    }
  }
}

at::Tensor DecoderModel::FusedDecodeHidden(const ForwardInput& input, KvCache* cache) const {
  const ModelConfig& c = config_;
  const std::int64_t b = input.input_ids.size(0), e = c.hidden_size, f = c.intermediate_size;
  const std::int64_t h = c.num_heads, kv = c.num_kv_heads, d = c.head_dim;
  const fused::HeadShape shape{h, kv, d};
  const bool adapters = input.use_adapters, gemma = c.norm_adds_one;
  const double eps = c.rms_norm_eps;
  const double softcap = c.attn_logit_softcap ? *c.attn_logit_softcap : 0.0;
  const at::Tensor positions = input.positions.view({b});
  const at::Tensor none;

  at::Tensor x = at::embedding(embed_tokens_, input.input_ids.view({b}));  // [B,E]
  if (c.scale_embeddings) {
    x = x * at::scalar_tensor(std::sqrt(static_cast<double>(e)), at::TensorOptions(device_).dtype(dtype_));
  }
  at::Tensor normed = at::empty_like(x), mlp_in = at::empty_like(x);
  at::Tensor q = at::empty({b, h, d}, x.options()), attn = at::empty({b, h * d}, x.options());
  at::Tensor activated = at::empty({b, f}, x.options());
  fused::AddRmsNorm(x, none, none, NormScale(layers_[0].input_norm), normed, gemma, eps);
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const DecoderLayerWeights& w = layers_[i];
    at::Tensor qkv = at::linear(normed, w.qkv_weight, w.qkv_bias);
    if (adapters) {
      AddAdapter(w.q_proj, normed, qkv.narrow(1, 0, h * d));
      AddAdapter(w.k_proj, normed, qkv.narrow(1, h * d, kv * d));
      AddAdapter(w.v_proj, normed, qkv.narrow(1, (h + kv) * d, kv * d));
    }
    const KvCache::LayerBuffers& buffers = cache->layer(i);
    fused::RopeAndWriteCache(qkv, positions, input.cache_column, rope_[i]->inv_freq(),
                             c.qk_norm ? NormScale(w.q_norm) : none, c.qk_norm ? NormScale(w.k_norm) : none,
                             gemma, eps, buffers, shape, q);
    fused::DecodeAttention(q, buffers, positions, input.cache_column, c.layers[i].sliding ? c.sliding_window : 0,
                           c.attention_scale, softcap, shape, attn);
    const at::Tensor attended = Project(w.o_proj, attn, adapters);
    if (c.sandwich_norms) {
      fused::AddRmsNorm(x, attended, NormScale(w.post_attention_norm), NormScale(w.pre_ffn_norm), mlp_in, gemma, eps);
    } else {
      fused::AddRmsNorm(x, attended, none, NormScale(w.post_attention_norm), mlp_in, gemma, eps);
    }
    at::Tensor gate_up = at::linear(mlp_in, w.gate_up_weight);
    if (adapters) {
      AddAdapter(w.gate_proj, mlp_in, gate_up.narrow(1, 0, f));
      AddAdapter(w.up_proj, mlp_in, gate_up.narrow(1, f, f));
    }
    fused::GatedActivation(gate_up, c.activation, activated);
    const at::Tensor mlp_out = Project(w.down_proj, activated, adapters);
    const at::Tensor& next_norm = NormScale(i + 1 < c.num_layers ? layers_[i + 1].input_norm : final_norm_);
    fused::AddRmsNorm(x, mlp_out, c.sandwich_norms ? NormScale(w.post_ffn_norm) : none, next_norm, normed, gemma, eps);
  }
  return normed.view({b, 1, e});
}

}  // namespace gspo::engine
