// The fused decode kernels behind LibTorch tensors (fused_ops.h), on CUDA.
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <cstdlib>

#include "worker/engine/kernels/attention_probs_kernels.h"
#include "worker/engine/kernels/decode_kernels.h"
#include "worker/engine/kernels/dequantize_kernels.h"
#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/kernels/logprob_kernels.h"
#include "worker/engine/kernels/rotary_kernels.h"
#include "worker/engine/env_switch.h"

namespace gspo::engine::fused {
namespace {

namespace k = gspo::engine::kernels;

k::DType KernelType(const at::Tensor& t) {
  TORCH_CHECK(t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kFloat,
              "fused decode: expected bfloat16 or float32, got ", t.scalar_type());
  return t.scalar_type() == at::kBFloat16 ? k::DType::kBFloat16 : k::DType::kFloat32;
}

void Check(cudaError_t status, const char* what) {
  TORCH_CHECK(status == cudaSuccess, "fused decode: ", what, " failed: ", cudaGetErrorString(status));
}

void CheckRows(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.is_cuda() && t.dim() >= 1 && t.stride(-1) == 1, "fused decode: ", name,
              " must be a CUDA tensor with contiguous rows, got sizes ", t.sizes(), " strides ", t.strides());
}

void CheckContiguous(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.is_cuda() && t.is_contiguous(), "fused decode: ", name, " must be a contiguous CUDA tensor");
}

const float* FloatOrNull(const at::Tensor& t) {
  if (!t.defined()) return nullptr;
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.is_contiguous(), "fused decode: norm scales must be float32");
  return t.data_ptr<float>();
}

k::NormArgs Norm(bool scale_then_round, double eps) {
  return {scale_then_round ? k::NormMode::kScaleThenRound : k::NormMode::kRoundThenScale, static_cast<float>(eps)};
}

k::Activation KernelActivation(Activation act) {
  return act == Activation::kGeluTanh ? k::Activation::kGeluTanh
         : act == Activation::kGelu   ? k::Activation::kGelu
                                      : k::Activation::kSilu;
}

cudaStream_t Stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

}  // namespace

bool Available(const at::Tensor& like) {
  return SwitchedOn("GSPO_FUSED_DECODE") && like.is_cuda() && (like.scalar_type() == at::kBFloat16 || like.scalar_type() == at::kFloat);
}

void AddRmsNorm(const at::Tensor& x, const at::Tensor& h, const at::Tensor& scale1,
                const at::Tensor& scale2, const at::Tensor& out, bool scale_then_round, double eps) {
  CheckContiguous(x, "x");
  CheckContiguous(out, "out");
  TORCH_CHECK(out.sizes() == x.sizes() && out.scalar_type() == x.scalar_type(), "fused decode: norm out shape");
  const std::int64_t hidden = x.size(-1);
  if (h.defined()) {
    CheckRows(h, "h");
    TORCH_CHECK(h.sizes() == x.sizes() && h.scalar_type() == x.scalar_type() &&
                    (h.dim() == 1 || (h.dim() == 2 && h.stride(0) >= hidden) || h.is_contiguous()),
                "fused decode: residual shape ", h.sizes(), " strides ", h.strides());
  }
  TORCH_CHECK(scale2.numel() == hidden && (!scale1.defined() || scale1.numel() == hidden),
              "fused decode: norm scale size");
  const std::int64_t h_stride = h.defined() && h.dim() == 2 ? h.stride(0) : hidden;
  Check(k::AddRmsNorm(KernelType(x), x.data_ptr(), h.defined() ? h.data_ptr() : nullptr, h_stride, FloatOrNull(scale1),
                      FloatOrNull(scale2), out.data_ptr(), x.numel() / hidden, hidden,
                      Norm(scale_then_round, eps), Stream()),
        "AddRmsNorm");
}

void RmsNormBackward(const at::Tensor& x, const at::Tensor& dy, const at::Tensor& scale, const at::Tensor& dx,
                     double eps) {
  CheckContiguous(x, "x");
  CheckContiguous(dy, "dy");
  CheckContiguous(dx, "dx");
  TORCH_CHECK(dy.sizes() == x.sizes() && dx.sizes() == x.sizes() && dy.scalar_type() == x.scalar_type() &&
                  dx.scalar_type() == x.scalar_type() && x.dim() >= 1,
              "fused norm backward: x, dy and dx must match, got ", x.sizes(), " ", dy.sizes(), " ", dx.sizes());
  const std::int64_t hidden = x.size(-1);
  TORCH_CHECK(scale.numel() == hidden, "fused norm backward: scale size ", scale.numel(), " for rows of ", hidden);
  if (x.numel() == 0) return;
  Check(k::RmsNormBackward(KernelType(x), x.data_ptr(), dy.data_ptr(), FloatOrNull(scale), dx.data_ptr(),
                           x.numel() / hidden, hidden, static_cast<float>(eps), Stream()),
        "RmsNormBackward");
}

namespace {

// The rows, targets and scalars both log-probability kernels take, checked.
k::LogProbArgs LogProbRows(const at::Tensor& logits, const at::Tensor& targets, double softcap, double temperature) {
  CheckContiguous(logits, "logits");
  CheckContiguous(targets, "targets");
  TORCH_CHECK(logits.dim() == 2 && targets.dim() == 1 && targets.size(0) == logits.size(0) &&
                  targets.scalar_type() == at::kLong,
              "fused log-probabilities: logits [N,V] and int64 targets [N], got ", logits.sizes(), " and ",
              targets.sizes(), " ", targets.scalar_type());
  TORCH_CHECK(temperature > 0, "fused log-probabilities: temperature must be positive, got ", temperature);
  k::LogProbArgs args;
  args.logits = logits.data_ptr();
  args.targets = targets.data_ptr<std::int64_t>();
  args.rows = logits.size(0);
  args.vocab = logits.size(1);
  args.softcap = static_cast<float>(softcap);
  args.temperature = static_cast<float>(temperature);
  return args;
}

void CheckRowFloats(const at::Tensor& t, std::int64_t rows, const char* name) {
  CheckContiguous(t, name);
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.numel() == rows, "fused log-probabilities: ", name,
              " must be float32 [", rows, "], got ", t.scalar_type(), " ", t.sizes());
}

}  // namespace

void LogProbForward(const at::Tensor& logits, const at::Tensor& targets, double softcap, double temperature,
                    const at::Tensor& logp, const at::Tensor& log_sum_exp, const at::Tensor& entropy) {
  const k::LogProbArgs args = LogProbRows(logits, targets, softcap, temperature);
  CheckRowFloats(logp, args.rows, "logp");
  CheckRowFloats(log_sum_exp, args.rows, "log_sum_exp");
  if (entropy.defined()) CheckRowFloats(entropy, args.rows, "entropy");
  Check(k::LogProbForward(KernelType(logits), args, logp.data_ptr<float>(), log_sum_exp.data_ptr<float>(),
                          entropy.defined() ? entropy.data_ptr<float>() : nullptr, Stream()),
        "LogProbForward");
}

void LogProbBackward(const at::Tensor& kept, const at::Tensor& targets, const at::Tensor& log_sum_exp,
                     const at::Tensor& grad_logp, double softcap, double temperature, const at::Tensor& grad_logits) {
  const k::LogProbArgs args = LogProbRows(kept, targets, softcap, temperature);
  CheckRowFloats(log_sum_exp, args.rows, "log_sum_exp");
  CheckRowFloats(grad_logp, args.rows, "grad_logp");
  CheckContiguous(grad_logits, "grad_logits");
  TORCH_CHECK(grad_logits.sizes() == kept.sizes() && grad_logits.scalar_type() == kept.scalar_type(),
              "fused log-probabilities: grad_logits must match the logits, got ", grad_logits.sizes());
  Check(k::LogProbBackward(KernelType(kept), args, log_sum_exp.data_ptr<float>(), grad_logp.data_ptr<float>(),
                           grad_logits.data_ptr(), Stream()),
        "LogProbBackward");
}

void RopeAndWriteCache(const at::Tensor& qkv, const at::Tensor& positions, const at::Tensor& column,
                       const at::Tensor& inv_freq, const at::Tensor& q_norm, const at::Tensor& k_norm,
                       bool scale_then_round, double eps, const KvCache::LayerBuffers& layer,
                       HeadShape shape, const at::Tensor& q_out) {
  CheckRows(qkv, "qkv");
  CheckContiguous(positions, "positions");
  CheckContiguous(q_out, "q_out");
  CheckContiguous(layer.k, "k cache");
  CheckContiguous(layer.v, "v cache");
  const std::int64_t rows = qkv.size(0), width = (shape.heads + 2 * shape.kv_heads) * shape.head_dim;
  TORCH_CHECK(qkv.dim() == 2 && qkv.size(1) == width, "fused decode: qkv must be [B,", width, "], got ", qkv.sizes());
  TORCH_CHECK(positions.numel() == rows && positions.scalar_type() == at::kLong, "fused decode: positions");
  TORCH_CHECK(layer.k.size(0) == rows && layer.k.size(1) == shape.kv_heads && layer.k.size(3) == shape.head_dim,
              "fused decode: cache shape ", layer.k.sizes());
  TORCH_CHECK(q_out.numel() == rows * shape.heads * shape.head_dim, "fused decode: q_out shape");
  TORCH_CHECK(inv_freq.scalar_type() == at::kFloat && inv_freq.numel() == shape.head_dim / 2, "fused decode: inv_freq");
  k::RopeWriteArgs args{};
  args.qkv = qkv.data_ptr();
  args.qkv_stride = qkv.stride(0);
  args.positions = positions.data_ptr<std::int64_t>();
  args.column = column.data_ptr<std::int64_t>();
  args.inv_freq = inv_freq.data_ptr<float>();
  args.q_norm = FloatOrNull(q_norm);
  args.k_norm = FloatOrNull(k_norm);
  args.norm = Norm(scale_then_round, eps);
  args.q_out = q_out.data_ptr();
  args.k_cache = layer.k.data_ptr();
  args.v_cache = layer.v.data_ptr();
  args.key_positions = layer.writes_positions ? layer.positions.data_ptr<std::int64_t>() : nullptr;
  args.key_valid = layer.writes_positions ? layer.valid.data_ptr<bool>() : nullptr;
  args.capacity = layer.capacity;
  args.ring = layer.ring;
  args.rows = static_cast<int>(rows);
  args.heads = static_cast<int>(shape.heads);
  args.kv_heads = static_cast<int>(shape.kv_heads);
  args.head_dim = static_cast<int>(shape.head_dim);
  Check(k::RopeAndWriteCache(KernelType(qkv), args, Stream()), "RopeAndWriteCache");
}

// Slots per split-K chunk of decode attention (when the batch is too small to fill the device);
// GSPO_ATTENTION_CHUNK overrides it (0: no split), read once.
static std::int64_t AttentionKeysPerChunk() {
  static const std::int64_t keys = [] {
    const char* value = std::getenv("GSPO_ATTENTION_CHUNK");
    return value != nullptr ? std::strtoll(value, nullptr, 10) : std::int64_t{256};
  }();
  return keys;
}

// Keys per warp round of decode attention (GSPO_ATTENTION_KEYS; 0: the kernel's default). Read
// at every launch (tests switch it; graphs record it once).
static int AttentionKeysPerRound() {
  const char* value = std::getenv("GSPO_ATTENTION_KEYS");
  return value != nullptr ? static_cast<int>(std::strtol(value, nullptr, 10)) : 0;
}

bool AttentionSupports(HeadShape shape) {
  return k::DecodeAttentionSupports(static_cast<int>(shape.heads), static_cast<int>(shape.kv_heads),
                                    static_cast<int>(shape.head_dim));
}

void DecodeAttention(const at::Tensor& q, const KvCache::LayerBuffers& layer,
                     const at::Tensor& query_positions, const at::Tensor& column, std::int64_t window,
                     double scale, double softcap, HeadShape shape, const at::Tensor& out) {
  CheckContiguous(q, "q");
  CheckContiguous(out, "attention out");
  CheckContiguous(query_positions, "query positions");
  CheckContiguous(layer.positions, "key positions");
  CheckContiguous(layer.valid, "key valid");
  const std::int64_t rows = layer.k.size(0);
  TORCH_CHECK(q.numel() == rows * shape.heads * shape.head_dim && out.numel() == q.numel(),
              "fused decode: attention shapes");
  k::DecodeAttentionArgs args{};
  args.q = q.data_ptr();
  args.k_cache = layer.k.data_ptr();
  args.v_cache = layer.v.data_ptr();
  args.key_positions = layer.positions.data_ptr<std::int64_t>();
  args.key_valid = layer.valid.data_ptr<bool>();
  args.query_positions = query_positions.data_ptr<std::int64_t>();
  args.column = column.data_ptr<std::int64_t>();
  args.capacity = layer.capacity;
  args.ring = layer.ring;
  args.window = window;
  args.scale = static_cast<float>(scale);
  args.softcap = static_cast<float>(softcap);
  args.out = out.data_ptr();
  args.rows = static_cast<int>(rows);
  args.heads = static_cast<int>(shape.heads);
  args.kv_heads = static_cast<int>(shape.kv_heads);
  args.head_dim = static_cast<int>(shape.head_dim);
  // Split-K over the cache when rows x kv heads alone would leave the device idle.
  args.chunks = k::DecodeAttentionChunks(args.rows, args.kv_heads, layer.capacity, AttentionKeysPerChunk());
  args.chunk = (layer.capacity + args.chunks - 1) / args.chunks;
  args.keys_per_round = AttentionKeysPerRound();
  // GSPO_ATTENTION_MMA=0: the CUDA-core kernel; GSPO_ATTENTION_SHARED_PREFIX=0: every row reads
  // its own copy of a shared prompt.
  args.tensor_cores = SwitchedOn("GSPO_ATTENTION_MMA");
  if (layer.prefix_slots > 0 && layer.prefix_source.defined() && SwitchedOn("GSPO_ATTENTION_SHARED_PREFIX")) {
    CheckContiguous(layer.prefix_source, "prefix source");
    TORCH_CHECK(layer.prefix_source.scalar_type() == at::kInt && layer.prefix_source.numel() == rows,
                "fused decode: prefix source must be one int32 row index per row");
    args.prefix_source = layer.prefix_source.data_ptr<int>();
    args.prefix_slots = layer.prefix_slots;
  }
  at::Tensor partials;
  if (args.chunks > 1) {
    partials = at::empty({k::DecodeAttentionPartialFloats(args.rows, args.heads, args.head_dim, args.chunks)},
                         q.options().dtype(at::kFloat));
    args.partials = partials.data_ptr<float>();
  }
  Check(k::DecodeAttention(KernelType(q), args, Stream()), "DecodeAttention");
}

void GatedActivation(const at::Tensor& gate_up, Activation act, const at::Tensor& out) {
  CheckContiguous(gate_up, "gate_up");
  CheckContiguous(out, "activation out");
  const std::int64_t intermediate = out.size(-1), rows = out.numel() / intermediate;
  TORCH_CHECK(gate_up.numel() == 2 * out.numel() && gate_up.scalar_type() == out.scalar_type(),
              "fused decode: gate_up must be twice the output, of its dtype");
  Check(k::GatedActivation(KernelType(out), KernelActivation(act), gate_up.data_ptr(), out.data_ptr(), rows,
                           intermediate, Stream()),
        "GatedActivation");
}

void GatedActivationBackward(const at::Tensor& gate_up, const at::Tensor& dh, Activation act,
                             const at::Tensor& d_gate_up) {
  CheckContiguous(gate_up, "gate_up");
  CheckContiguous(dh, "activation gradient");
  CheckContiguous(d_gate_up, "gate_up gradient");
  const std::int64_t intermediate = dh.size(-1), rows = dh.numel() / intermediate;
  TORCH_CHECK(gate_up.sizes() == d_gate_up.sizes() && gate_up.numel() == 2 * dh.numel() &&
                  gate_up.size(-1) == 2 * intermediate && gate_up.scalar_type() == dh.scalar_type() &&
                  d_gate_up.scalar_type() == dh.scalar_type(),
              "fused gated activation backward: gate_up [N,2F], dh [N,F] and d_gate_up [N,2F] of one dtype, got ",
              gate_up.sizes(), ", ", dh.sizes(), " and ", d_gate_up.sizes());
  Check(k::GatedActivationBackward(KernelType(dh), KernelActivation(act), gate_up.data_ptr(), dh.data_ptr(),
                                   d_gate_up.data_ptr(), rows, intermediate, Stream()),
        "GatedActivationBackward");
}

namespace {

k::HeadStrides HeadsOf(const at::Tensor& t) { return {t.stride(0), t.stride(1), t.stride(2)}; }

}  // namespace

void Rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool adjoint, const at::Tensor& out) {
  TORCH_CHECK(x.is_cuda() && out.is_cuda() && x.dim() == 4 && out.sizes() == x.sizes() && x.stride(3) == 1 &&
                  out.stride(3) == 1 && out.scalar_type() == x.scalar_type(),
              "fused rotary: x and out must be CUDA [B,H,T,D] of one dtype with contiguous rows, got ", x.sizes(),
              " strides ", x.strides(), " and ", out.sizes(), " strides ", out.strides());
  const std::int64_t b = x.size(0), t = x.size(2), d = x.size(3);
  for (const at::Tensor* table : {&cos, &sin}) {
    TORCH_CHECK(table->is_cuda() && table->dim() == 4 && (table->size(0) == b || table->size(0) == 1) &&
                    table->size(1) == 1 && table->size(2) == t && table->size(3) == d && table->stride(3) == 1 &&
                    table->scalar_type() == x.scalar_type() && table->strides() == cos.strides(),
                "fused rotary: cos and sin must be [B or 1, 1, T, D] alike, of x's dtype, got ", table->sizes(),
                " strides ", table->strides(), " for x ", x.sizes());
  }
  TORCH_CHECK(d % 2 == 0, "fused rotary: the head dimension must be even, got ", d);
  k::RotaryArgs args;
  args.in = x.data_ptr();
  args.out = out.data_ptr();
  args.cos = cos.data_ptr();
  args.sin = sin.data_ptr();
  args.batch = b;
  args.heads = x.size(1);
  args.tokens = t;
  args.head_dim = d;
  args.in_strides = HeadsOf(x);
  args.out_strides = HeadsOf(out);
  args.table_batch_stride = cos.size(0) == 1 ? 0 : cos.stride(0);
  args.table_token_stride = cos.stride(2);
  args.adjoint = adjoint;
  Check(k::Rotary(KernelType(x), args, Stream()), "Rotary");
}

namespace {

// The kernels' view of scores [B*K, R*T, S] (kv_heads K) and bias [B, 1, T, S] (may be undefined
// for backward, which does not read it).
k::AttentionProbsArgs AttentionRows(const at::Tensor& scores, const at::Tensor& bias, std::int64_t kv_heads,
                                    double scale, double softcap) {
  CheckContiguous(scores, "attention scores");
  TORCH_CHECK(scores.dim() == 3 && kv_heads > 0 && scores.size(0) % kv_heads == 0,
              "fused attention: scores must be [B*K, R*T, S] for ", kv_heads, " kv heads, got ", scores.sizes());
  k::AttentionProbsArgs args;
  args.groups = scores.size(0);
  args.kv_heads = kv_heads;
  args.group_rows = scores.size(1);
  args.keys = scores.size(2);
  args.queries = args.group_rows;
  args.scale = static_cast<float>(scale);
  args.softcap = static_cast<float>(softcap);
  if (bias.defined()) {
    TORCH_CHECK(bias.is_cuda() && bias.dim() == 4 && bias.size(0) * kv_heads == args.groups && bias.size(1) == 1 &&
                    bias.size(3) == args.keys && bias.stride(3) == 1 && args.group_rows % bias.size(2) == 0 &&
                    bias.scalar_type() == scores.scalar_type(),
                "fused attention: bias must be [B, 1, T, S] of the scores' dtype with contiguous rows, got ",
                bias.sizes(), " strides ", bias.strides(), " for scores ", scores.sizes());
    args.queries = bias.size(2);
    args.bias = bias.data_ptr();
    args.bias_batch_stride = bias.stride(0);
    args.bias_row_stride = bias.stride(2);
  }
  return args;
}

void CheckLike(const at::Tensor& t, const at::Tensor& like, const char* name) {
  CheckContiguous(t, name);
  TORCH_CHECK(t.sizes() == like.sizes() && t.scalar_type() == like.scalar_type(), "fused attention: ", name,
              " must match the scores ", like.sizes(), " ", like.scalar_type(), ", got ", t.sizes(), " ",
              t.scalar_type());
}

}  // namespace

void AttentionProbs(const at::Tensor& scores, const at::Tensor& bias, std::int64_t kv_heads, double scale,
                    double softcap, const at::Tensor& probs) {
  TORCH_CHECK(bias.defined(), "fused attention: the forward needs the bias");
  const k::AttentionProbsArgs args = AttentionRows(scores, bias, kv_heads, scale, softcap);
  CheckLike(probs, scores, "probs");
  Check(k::AttentionProbsForward(KernelType(scores), args, scores.data_ptr(), probs.data_ptr(), Stream()),
        "AttentionProbsForward");
}

void AttentionProbsBackward(const at::Tensor& grad, const at::Tensor& probs, const at::Tensor& capped, double scale,
                            double softcap) {
  // The kv heads only place the bias, which backward does not read: any divisor will do.
  const k::AttentionProbsArgs args = AttentionRows(grad, at::Tensor(), 1, scale, softcap);
  CheckLike(probs, grad, "probs");
  if (softcap > 0) CheckLike(capped, grad, "capped scores");
  Check(k::AttentionProbsBackward(KernelType(grad), args, grad.data_ptr(), probs.data_ptr(),
                                  softcap > 0 ? capped.data_ptr() : nullptr, Stream()),
        "AttentionProbsBackward");
}

void Sample(const SampleStep& s) {
  CheckRows(s.logits, "logits");
  CheckContiguous(s.uniforms, "uniforms");
  CheckContiguous(s.rows, "rows");
  CheckContiguous(s.out_tokens, "out tokens");
  CheckContiguous(s.out_logprobs, "out log-probs");
  CheckContiguous(s.next_ids, "next ids");
  CheckContiguous(s.finished, "finished");
  const std::int64_t rows = s.logits.size(0);
  TORCH_CHECK(s.logits.dim() == 2 && s.uniforms.size(0) == rows && s.rows.numel() == rows &&
                  s.next_ids.numel() == rows && s.finished.numel() == rows,
              "fused decode: sampling shapes");
  TORCH_CHECK(s.step >= 0 && s.step < s.uniforms.size(1) && s.step < s.out_tokens.size(1),
              "fused decode: sampling step out of range");
  TORCH_CHECK(s.out_tokens.scalar_type() == at::kLong && s.out_logprobs.scalar_type() == at::kFloat &&
                  s.uniforms.scalar_type() == at::kFloat && s.finished.scalar_type() == at::kBool,
              "fused decode: sampling dtypes");
  k::SampleArgs args{};
  args.logits = s.logits.data_ptr();
  args.logits_stride = s.logits.stride(0);
  args.vocab = s.logits.size(1);
  args.rows = static_cast<int>(rows);
  args.softcap = static_cast<float>(s.softcap);
  args.temperature = static_cast<float>(s.temperature);
  args.top_p = static_cast<float>(s.top_p);
  args.greedy = s.greedy;
  args.uniforms = s.uniforms.data_ptr<float>();
  args.uniforms_stride = s.uniforms.stride(0);
  args.step = s.step;
  args.row_index = s.rows.data_ptr<std::int64_t>();
  args.out_tokens = s.out_tokens.data_ptr<std::int64_t>();
  args.out_logprobs = s.out_logprobs.data_ptr<float>();
  args.out_stride = s.out_tokens.stride(0);
  args.next_ids = s.next_ids.data_ptr<std::int64_t>();
  if (s.stop_ids.defined() && s.stop_ids.numel() > 0) {
    CheckContiguous(s.stop_ids, "stop ids");
    args.stop_ids = s.stop_ids.data_ptr<std::int64_t>();
    args.num_stop_ids = static_cast<int>(s.stop_ids.numel());
  }
  args.finished = s.finished.data_ptr<bool>();
  Check(k::SampleTopP(KernelType(s.logits), args, Stream()), "SampleTopP");
}

void DequantizeNf4(const Nf4Storage& w, const at::Tensor& out) {
  CheckContiguous(out, "dequantized weight");
  CheckContiguous(w.codes, "NF4 codes");
  TORCH_CHECK(w.code_book != nullptr && w.codes.scalar_type() == at::kByte && w.codes.numel() * 2 >= out.numel(),
              "dequantize: NF4 codes cover ", w.codes.numel() * 2, " values, the output needs ", out.numel());
  const std::int64_t blocks = w.codes.numel() / 32;
  k::Nf4Dequant args{};
  args.codes = w.codes.data_ptr<std::uint8_t>();
  if (w.absmax.defined()) {
    CheckContiguous(w.absmax, "NF4 block maxima");
    TORCH_CHECK(w.absmax.scalar_type() == at::kFloat && w.absmax.numel() == blocks, "dequantize: block maxima");
    args.absmax = w.absmax.data_ptr<float>();
  } else {
    CheckContiguous(w.absmax_codes, "NF4 block maxima codes");
    CheckContiguous(w.absmax_scales, "NF4 block maxima scales");
    TORCH_CHECK(w.absmax_codes.scalar_type() == at::kChar && w.absmax_codes.numel() == blocks &&
                    w.absmax_scales.scalar_type() == at::kFloat && w.absmax_scales.numel() == (blocks + 255) / 256,
                "dequantize: double-quantized block maxima");
    args.absmax_codes = w.absmax_codes.data_ptr<std::int8_t>();
    args.absmax_scales = w.absmax_scales.data_ptr<float>();
    args.absmax_mean = static_cast<float>(w.absmax_mean);
  }
  std::copy(w.code_book->begin(), w.code_book->end(), args.code_book);
  args.numel = out.numel();
  args.out = out.data_ptr();
  Check(k::DequantizeNf4(KernelType(out), args, Stream()), "DequantizeNf4");
}

void DequantizeInt8(const at::Tensor& codes, const at::Tensor& row_scales, const at::Tensor& out) {
  CheckContiguous(out, "dequantized weight");
  CheckContiguous(codes, "int8 codes");
  CheckContiguous(row_scales, "int8 row scales");
  TORCH_CHECK(codes.dim() == 2 && codes.scalar_type() == at::kChar && row_scales.scalar_type() == at::kFloat &&
                  row_scales.numel() == codes.size(0) && out.numel() == codes.numel(),
              "dequantize: int8 codes ", codes.sizes(), ", row scales ", row_scales.sizes(), ", output ",
              out.sizes());
  Check(k::DequantizeInt8(KernelType(out), codes.data_ptr<std::int8_t>(), row_scales.data_ptr<float>(),
                          out.data_ptr(), codes.size(0), codes.size(1), Stream()),
        "DequantizeInt8");
}

}  // namespace gspo::engine::fused
