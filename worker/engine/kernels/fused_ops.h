// The fused decode kernels (decode_kernels.h) for LibTorch tensors: shape, dtype and device
// checks, then a launch on the current CUDA stream. Built from fused_ops_cuda.cc when LibTorch
// has CUDA; fused_ops_cpu.cc otherwise, where Available() is false and nothing else is called.
//
// Every function writes into tensors the caller allocated, never synchronises with the host
// and never allocates on the host side, so a CUDA graph can record it. Misuse throws c10::Error.
// Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>

#include "worker/engine/model/kv_cache.h"
#include "worker/engine/model/model_config.h"

namespace gspo::engine::fused {

// True when the kernels are built, `like` is a CUDA tensor of float32 or bfloat16, and
// GSPO_FUSED_DECODE=0 is not set (the switch that measures what the kernels bring).
bool Available(const at::Tensor& like);

// x [B,E] (updated in place when h is given; h [B,E] may have a row stride, e.g. a column range
// of a wider product): x += (scale1 defined ? norm(h) * scale1 : h);
// then out [B,E] = norm(x) * scale2. scale_then_round: Gemma's order (multiply in float32,
// then round); else Llama's (round, then multiply). Scales are float32 [E].
void AddRmsNorm(const at::Tensor& x, const at::Tensor& h, const at::Tensor& scale1,
                const at::Tensor& scale2, const at::Tensor& out, bool scale_then_round, double eps);

// dx = the gradient of out = norm(x) * scale (Gemma's order, as AddRmsNorm without h computes
// it) with respect to x, given dy: x, dy, dx contiguous [..., E] of x's dtype, scale float32 [E].
void RmsNormBackward(const at::Tensor& x, const at::Tensor& dy, const at::Tensor& scale, const at::Tensor& dx,
                     double eps);

// Rotary embedding of the step's queries and keys (after the per-head q/k norms when their
// scales are defined) and the write of keys and values into `layer` at `column`.
// qkv [B,(H+2K)*D] (row stride may exceed the width); positions [B] int64; q_out [B,H,D].
struct HeadShape {
  std::int64_t heads, kv_heads, head_dim;
};
void RopeAndWriteCache(const at::Tensor& qkv, const at::Tensor& positions, const at::Tensor& column,
                       const at::Tensor& inv_freq, const at::Tensor& q_norm, const at::Tensor& k_norm,
                       bool scale_then_round, double eps, const KvCache::LayerBuffers& layer,
                       HeadShape shape, const at::Tensor& q_out);

bool AttentionSupports(HeadShape shape);
// out [B,H*D] = attention of q [B,H,D] over `layer`'s written slots (decode_kernels.h).
void DecodeAttention(const at::Tensor& q, const KvCache::LayerBuffers& layer,
                     const at::Tensor& query_positions, const at::Tensor& column, std::int64_t window,
                     double scale, double softcap, HeadShape shape, const at::Tensor& out);

// out [B,F] = act(gate_up[:, :F]) * gate_up[:, F:].
void GatedActivation(const at::Tensor& gate_up, Activation act, const at::Tensor& out);
// Its backward (training's MLP node): d_gate_up [N,2F] from gate_up [N,2F] and dh = dL/d out [N,F]
// (decode_kernels.h says how each rounds). All contiguous, of one dtype.
void GatedActivationBackward(const at::Tensor& gate_up, const at::Tensor& dh, Activation act,
                             const at::Tensor& d_gate_up);

// Training's rotary embedding (rotary_kernels.h; the values of model/rope.cc's operators, to the
// bit): out = x cos + rotate_half(x) sin, or with `adjoint` the gradient of that with respect to
// x given out's gradient in x. x and out [B,H,T,D] of one dtype, any strides with a contiguous
// last dimension; cos and sin [B or 1, 1, T, D] of that dtype, rows contiguous.
void Rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool adjoint, const at::Tensor& out);

// Eager attention's elementwise middle (model/attention.cc; attention_probs_kernels.h says how
// each step rounds). Forward: scores [B*K, R*T, S] (the product q k^T, contiguous) are replaced
// by the soft-capped scores when softcap > 0; probs (its shape and dtype) = the softmax of the
// capped scores plus bias [B, 1, T, S] (rows contiguous; a narrowed view is fine), in the
// scores' dtype. Backward: grad [B*K, R*T, S] = dL/d probs is replaced by dL/d scores, from
// probs and the capped scores (undefined without a cap).
void AttentionProbs(const at::Tensor& scores, const at::Tensor& bias, std::int64_t kv_heads, double scale,
                    double softcap, const at::Tensor& probs);
void AttentionProbsBackward(const at::Tensor& grad, const at::Tensor& probs, const at::Tensor& capped, double scale,
                            double softcap);

// The learner's log-probabilities through a soft-capped vocabulary (train/log_prob_node.h,
// kernels in logprob_kernels.h). Forward: logits [N,V] (model dtype, contiguous) are replaced by
// the soft-cap's tanh values (untouched when softcap <= 0); logp and log_sum_exp [N] float32 are
// written, entropy [N] float32 too when defined. Backward: grad_logits [N,V] (model dtype) from
// the forward's kept values, its log_sum_exp and grad_logp [N] float32. targets: [N] int64.
void LogProbForward(const at::Tensor& logits, const at::Tensor& targets, double softcap, double temperature,
                    const at::Tensor& logp, const at::Tensor& log_sum_exp, const at::Tensor& entropy);
void LogProbBackward(const at::Tensor& kept, const at::Tensor& targets, const at::Tensor& log_sum_exp,
                     const at::Tensor& grad_logp, double softcap, double temperature, const at::Tensor& grad_logits);

// One sampling step over raw logits [B,V] (soft-capped in place); see decode_kernels.h.
struct SampleStep {
  at::Tensor logits;      // [B,V], model dtype, contiguous rows
  double softcap = 0;     // <= 0: none
  double temperature = 1;
  double top_p = 1;
  bool greedy = false;
  at::Tensor uniforms;    // [B,N] float32
  std::int64_t step = 0;  // column of uniforms and of the outputs
  at::Tensor rows;        // [B] int64: the output row of each batch row
  at::Tensor out_tokens;  // [R,N] int64
  at::Tensor out_logprobs;  // [R,N] float32
  at::Tensor next_ids;    // [B,1] int64: the token each row feeds next
  at::Tensor stop_ids;    // [S] int64, may be undefined
  at::Tensor finished;    // [B] bool
};
void Sample(const SampleStep& step);

// A frozen weight's NF4 storage (quant/quantized_weight.h): codes, and either the block maxima
// or their double-quantized form.
struct Nf4Storage {
  at::Tensor codes;          // uint8 [blocks * 32]
  at::Tensor absmax;         // float32 [blocks], or undefined with double quantization
  at::Tensor absmax_codes;   // int8 [blocks]
  at::Tensor absmax_scales;  // float32 [ceil(blocks / 256)]
  double absmax_mean = 0;
  const std::array<float, 16>* code_book = nullptr;
};
// out (contiguous, CUDA, bfloat16 or float32; its numel values) = the dequantized weight,
// bitwise what QuantizedWeight's LibTorch path computes (dequantize_kernels.h).
void DequantizeNf4(const Nf4Storage& weight, const at::Tensor& out);
// out [rows, cols] = int8 codes [rows, cols] * row_scales [rows] (float32).
void DequantizeInt8(const at::Tensor& codes, const at::Tensor& row_scales, const at::Tensor& out);

}  // namespace gspo::engine::fused
