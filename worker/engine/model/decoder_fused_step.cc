// DecoderModel's fused one-token decode step: per layer four matrix products (q/k/v stacked,
// o, gate/up stacked, down) and five fused kernels (rotary + cache write, attention, residual
// add + two norms, gated activation, residual add + the next layer's norm), instead of about
// fifty LibTorch kernels. Adapters add one low-rank product pair per stacked projection (q/k/v,
// gate/up) and per other adapted projection, from their decode copies; where the adapters' A
// rows are reserved after the base weights (q/k/v, o) only the B product is extra. Quantized
// projections are dequantized by one kernel each into a reused buffer just before their
// product. Computes what DecoderModel::Layer does, rounding where it rounds.
#include <c10/core/GradMode.h>

#include <algorithm>
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

bool AdaptersPrepared(const Linear& linear) {
  return !linear.lora || (linear.lora->a_decode.defined() && linear.lora->b_decode.defined());
}

// y += B(A(x)) for a stacked adapter (nothing when none of its modules is adapted).
template <typename Stacked>
void AddStacked(const Stacked& adapter, const at::Tensor& x, at::Tensor& y) {
  if (adapter.a.defined()) y.addmm_(at::mm(x, adapter.a.t()), adapter.b.t());
}

}  // namespace

at::Tensor DecoderModel::DecodeWeight(const at::Tensor& stacked, std::initializer_list<const Linear*> parts) const {
  if (stacked.defined()) return stacked;
  const ModelConfig& c = config_;
  const std::int64_t e = c.hidden_size, f = c.intermediate_size, attention = c.num_heads * c.head_dim;
  if (!decode_weight_.defined()) {
    const std::int64_t largest = std::max({(attention + 2 * c.num_kv_heads * c.head_dim) * e, 2 * f * e, attention * e});
    decode_weight_ = at::empty({largest}, embed_tokens_.options());
  }
  std::int64_t rows = 0;
  for (const Linear* part : parts) rows += part->out_features();
  const std::int64_t in = (*parts.begin())->in_features();
  const at::Tensor dense = decode_weight_.narrow(0, 0, rows * in).view({rows, in});
  std::int64_t row = 0;
  for (const Linear* part : parts) {
    const at::Tensor slice = dense.narrow(0, row, part->out_features());
    if (part->quantized) {
      part->quantized->DequantizeInto(slice);
    } else {
      slice.copy_(part->weight);
    }
    row += part->out_features();
  }
  return dense;
}

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
    if (decode_adapters_.size() != layers_.size()) return false;
    for (const DecoderLayerWeights& w : layers_) {
      for (const Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj}) {
        if (!AdaptersPrepared(*l)) return false;
      }
    }
  }
  return true;
}

void DecoderModel::ReserveAdapterRows() {
  c10::NoGradGuard no_grad;
  const auto rank_of = [](const Linear& l) { return l.lora ? l.lora->a.size(0) : std::int64_t{0}; };
  for (DecoderLayerWeights& w : layers_) {
    const std::int64_t qkv_rank = rank_of(w.q_proj) + rank_of(w.k_proj) + rank_of(w.v_proj);
    if (w.qkv_weight.defined() && !w.qkv_bias.defined() && qkv_rank != w.qkv_adapter_rows) {
      const std::int64_t base = w.qkv_weight.size(0) - w.qkv_adapter_rows;
      at::Tensor buffer = at::zeros({base + qkv_rank, w.qkv_weight.size(1)}, w.qkv_weight.options());
      buffer.narrow(0, 0, base).copy_(w.qkv_weight.narrow(0, 0, base));
      std::int64_t row = 0;
      for (Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj}) {
        const std::int64_t rows = l->out_features();
        l->weight = buffer.narrow(0, row, rows);
        row += rows;
      }
      w.qkv_weight = buffer;
      w.qkv_adapter_rows = qkv_rank;
    }
    const std::int64_t o_rank = rank_of(w.o_proj);
    if (w.o_proj.weight.defined() && !w.o_proj.bias.defined() && o_rank != w.o_adapter_rows) {
      const std::int64_t base = w.o_proj.out_features();
      at::Tensor buffer = at::zeros({base + o_rank, w.o_proj.in_features()}, w.o_proj.weight.options());
      buffer.narrow(0, 0, base).copy_(w.o_proj.weight);
      w.o_proj.weight = buffer.narrow(0, 0, base);
      w.o_weight = o_rank > 0 ? buffer : at::Tensor();
      w.o_adapter_rows = o_rank;
    }
  }
}

void DecoderModel::PrepareDecodeAdapters() const {
  c10::NoGradGuard no_grad;
  // Refreshes `copy` from `value` in place when the shapes still fit (recorded graphs keep
  // their addresses), else replaces it.
  const auto refresh = [&](at::Tensor& copy, const at::Tensor& value) {
    if (copy.defined() && copy.sizes() == value.sizes() && copy.scalar_type() == dtype_) {
      copy.copy_(value);
    } else {
      copy = value.to(device_, dtype_, /*non_blocking=*/false, /*copy=*/true);
    }
  };
  // The stacked copy of the adapters on `parts` (rows of one stacked projection).
  const auto stack = [&](const std::vector<const Linear*>& parts, StackedAdapter& out) {
    std::vector<at::Tensor> a_parts;
    std::int64_t rows = 0, rank = 0;
    for (const Linear* l : parts) {
      rows += l->out_features();
      if (l->lora) rank += l->lora->a.size(0);
    }
    if (rank == 0) {
      out = {};
      return;
    }
    at::Tensor b = at::zeros({rows, rank}, at::TensorOptions(device_).dtype(at::kFloat));
    std::int64_t row = 0, col = 0;
    for (const Linear* l : parts) {
      if (l->lora) {
        const LoraAdapter& lora = *l->lora;
        a_parts.push_back(lora.a.detach());
        b.narrow(0, row, lora.b.size(0)).narrow(1, col, lora.b.size(1)).copy_(lora.b.detach() * lora.scale);
        col += lora.b.size(1);
      }
      row += l->out_features();
    }
    refresh(out.a, at::cat(a_parts, 0));
    refresh(out.b, b);
  };
  decode_adapters_.resize(layers_.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const DecoderLayerWeights& w = layers_[i];
    for (const Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj}) {
      if (!l->lora) continue;
      refresh(l->lora->a_decode, l->lora->a.detach());
      refresh(l->lora->b_decode, l->lora->b.detach() * l->lora->scale);
    }
    stack({&w.q_proj, &w.k_proj, &w.v_proj}, decode_adapters_[i].qkv);
    stack({&w.gate_proj, &w.up_proj}, decode_adapters_[i].gate_up);
    // The A rows reserved after the base weights (in place: recorded graphs read them there).
    const StackedAdapter& qkv = decode_adapters_[i].qkv;
    if (w.qkv_adapter_rows > 0 && qkv.a.defined() && qkv.a.size(0) == w.qkv_adapter_rows) {
      w.qkv_weight.narrow(0, w.qkv_weight.size(0) - w.qkv_adapter_rows, w.qkv_adapter_rows).copy_(qkv.a);
    }
    if (w.o_adapter_rows > 0 && w.o_proj.lora && w.o_proj.lora->a.size(0) == w.o_adapter_rows) {
      w.o_weight.narrow(0, w.o_proj.out_features(), w.o_adapter_rows).copy_(w.o_proj.lora->a_decode);
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
    // With reserved adapter rows the product also gives x A^T in its last columns.
    const at::Tensor qkv_all = at::linear(normed, DecodeWeight(w.qkv_weight, {&w.q_proj, &w.k_proj, &w.v_proj}), w.qkv_bias);
    at::Tensor qkv = qkv_all.narrow(1, 0, (h + 2 * kv) * d);
    if (adapters) {
      const StackedAdapter& stacked = decode_adapters_[i].qkv;
      if (w.qkv_adapter_rows > 0 && stacked.b.defined() && qkv_all.size(1) > qkv.size(1)) {
        qkv.addmm_(qkv_all.narrow(1, qkv.size(1), w.qkv_adapter_rows), stacked.b.t());
      } else {
        AddStacked(stacked, normed, qkv);
      }
    }
    const KvCache::LayerBuffers& buffers = cache->layer(i);
    fused::RopeAndWriteCache(qkv, positions, input.cache_column, rope_[i]->inv_freq(),
                             c.qk_norm ? NormScale(w.q_norm) : none, c.qk_norm ? NormScale(w.k_norm) : none,
                             gemma, eps, buffers, shape, q);
    fused::DecodeAttention(q, buffers, positions, input.cache_column, c.layers[i].sliding ? c.sliding_window : 0,
                           c.attention_scale, softcap, shape, attn);
    const bool o_folded = w.o_adapter_rows > 0 && w.o_weight.defined();
    const at::Tensor o_all = at::linear(attn, o_folded ? w.o_weight : DecodeWeight(w.o_proj.weight, {&w.o_proj}), w.o_proj.bias);
    const at::Tensor attended = o_all.narrow(1, 0, e);  // row stride E + r when folded
    if (adapters && o_folded && w.o_proj.lora) {
      attended.addmm_(o_all.narrow(1, e, w.o_adapter_rows), w.o_proj.lora->b_decode.t());
    } else if (adapters) {
      AddAdapter(w.o_proj, attn, attended);
    }
    if (c.sandwich_norms) {
      fused::AddRmsNorm(x, attended, NormScale(w.post_attention_norm), NormScale(w.pre_ffn_norm), mlp_in, gemma, eps);
    } else {
      fused::AddRmsNorm(x, attended, none, NormScale(w.post_attention_norm), mlp_in, gemma, eps);
    }
    at::Tensor gate_up = at::linear(mlp_in, DecodeWeight(w.gate_up_weight, {&w.gate_proj, &w.up_proj}));
    if (adapters) AddStacked(decode_adapters_[i].gate_up, mlp_in, gate_up);
    fused::GatedActivation(gate_up, c.activation, activated);
    const at::Tensor mlp_out = at::linear(activated, DecodeWeight(w.down_proj.weight, {&w.down_proj}), w.down_proj.bias);
    if (adapters) AddAdapter(w.down_proj, activated, mlp_out);
    const at::Tensor& next_norm = NormScale(i + 1 < c.num_layers ? layers_[i + 1].input_norm : final_norm_);
    fused::AddRmsNorm(x, mlp_out, c.sandwich_norms ? NormScale(w.post_ffn_norm) : none, next_norm, normed, gemma, eps);
  }
  return normed.view({b, 1, e});
}

}  // namespace gspo::engine
