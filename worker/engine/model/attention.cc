#include "worker/engine/model/attention.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "worker/engine/env_switch.h"
#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/model/eager_attention.h"
#include "worker/engine/model/training_nodes.h"
#include "worker/engine/torch_compat.h"

namespace gspo::engine {
namespace {

// The eager path's query blocks. On CUDA, as many queries as keep a block's [B,H,rows,S] scores
// within kScoreElements (the operators' float32 softmax makes two such tensors), at least
// kQueryBlock: one block saves the slicing and concatenation, forward and backward. On the CPU,
// kQueryBlock: there a block's temporaries above glibc's 32 MB mmap threshold are mapped afresh
// on every allocation, and one block made a learning phase 6x slower
// (bench/results/cpu-query-blocks.md).
constexpr std::int64_t kQueryBlock = 256;
constexpr std::int64_t kScoreElements = std::int64_t{1} << 25;

// On CUDA, outside autograd's recording (generation, and the attention node's own passes), the
// steps between the two products run as one kernel each way (fused::AttentionProbs);
// GSPO_ATTENTION_PROBS_KERNEL=0 runs the operators (the switch that measures what they bring).
// Read at every call.
bool UseProbsKernel(const at::Tensor& scores) {
  return SwitchedOn("GSPO_ATTENTION_PROBS_KERNEL") && !c10::GradMode::is_enabled() && fused::Available(scores) &&
         scores.is_contiguous();
}

// The kernel takes the bias as the model builds it: [B,1,T,S] of the scores' dtype, rows contiguous.
bool BiasFitsKernel(const at::Tensor& bias, const at::Tensor& scores, std::int64_t b, std::int64_t t, std::int64_t s) {
  return bias.dim() == 4 && bias.size(0) == b && bias.size(1) == 1 && bias.size(2) == t && bias.size(3) == s &&
         bias.stride(3) == 1 && bias.scalar_type() == scores.scalar_type() && bias.device() == scores.device();
}

}  // namespace

std::int64_t QueryBlockRows(std::int64_t batch_heads, std::int64_t keys, const at::Device& device) {
  if (!device.is_cuda()) return kQueryBlock;
  return std::max(kQueryBlock, kScoreElements / std::max<std::int64_t>(1, batch_heads * keys));
}

at::Tensor EagerAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                          double scale, std::optional<double> softcap, EagerTensors* keep) {
  const std::int64_t b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
  const std::int64_t kv = k.size(1), r = h / kv, s = k.size(2);
  const at::Tensor q3 = q.reshape({b * kv, r * t, d});
  const at::Tensor k3 = k.reshape({b * kv, s, d}), v3 = v.reshape({b * kv, s, d});
  at::Tensor scores = at::bmm(q3, k3.transpose(1, 2));
  at::Tensor probs;
  if (UseProbsKernel(scores) && BiasFitsKernel(bias, scores, b, t, s)) {
    // Under a cap the kernel leaves the capped scores in `scores`, as the operators below do.
    probs = at::empty_like(scores);
    fused::AttentionProbs(scores, bias, kv, scale, softcap ? *softcap : 0.0, probs);
  } else {
    scores.mul_(scale);
    if (softcap) {
      // In place unless autograd records this (tanh's backward keeps its output); same values.
      scores = c10::GradMode::is_enabled() ? at::tanh(scores / *softcap) * *softcap
                                           : scores.div_(*softcap).tanh_().mul_(*softcap);
    }
    // bias [B,1,T,S] per head group
    at::Tensor logits = scores.view({b, kv, r, t, s}) + bias.unsqueeze(2);
    probs = at::softmax(logits, -1, at::kFloat).to(q.scalar_type()).view({b * kv, r * t, s});
  }
  if (keep != nullptr) *keep = {q3, k3, v3, softcap ? scores : at::Tensor(), probs};
  return at::bmm(probs, v3).view({b, h, t, d});
}

EagerGrads EagerAttentionBackward(const EagerTensors& keep, const at::Tensor& dout_bhtd, double scale, double softcap,
                                  at::IntArrayRef shape_q, at::IntArrayRef shape_kv) {
  const at::Tensor &q3 = keep.q, &k3 = keep.k, &v3 = keep.v, &probs = keep.probs, &capped = keep.capped;
  const at::Tensor dout = dout_bhtd.reshape(q3.sizes());       // [B*K,R*T,D]
  const at::Tensor dv = at::bmm(probs.transpose(1, 2), dout);  // [B*K,S,D]
  at::Tensor dscores = at::bmm(dout, v3.transpose(1, 2));      // [B*K,R*T,S]: d probs, then d scores
  if (UseProbsKernel(dscores) && probs.is_contiguous() && (softcap <= 0 || capped.is_contiguous())) {
    fused::AttentionProbsBackward(dscores, probs, capped, scale, softcap);
  } else {
    // The float32 softmax's backward from its (rounded) output, back to the scores' dtype.
    dscores = at::_softmax_backward_data(dscores.to(at::kFloat), probs.to(at::kFloat), -1, at::kFloat)
                  .to(probs.scalar_type());
    // d/dx softcap * tanh(x / softcap) = 1 - tanh^2, with tanh = capped / softcap.
    if (softcap > 0) dscores = at::tanh_backward(dscores, capped / softcap);
    dscores.mul_(scale);
  }
  return {at::bmm(dscores, k3).view(shape_q), at::bmm(dscores.transpose(1, 2), q3).view(shape_kv), dv.view(shape_kv)};
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What the attention node needs besides q, k and v (none of which takes a gradient).
struct AttentionConstants {
  at::Tensor bias;
  double scale;
  std::optional<double> softcap;
};

// EagerAttention as one autograd node for training: the forward is EagerAttention itself (so the
// values are generation's to the bit), keeping the folded q, k, v, the capped scores and the
// probabilities in the activations' dtype; backward is written out: four products and a few
// elementwise passes over [B*K,R*T,S], where LibTorch's autograd of the composed operators walks
// a dozen nodes and keeps the float32 softmax besides.
struct AttentionFunction : public torch::autograd::Function<AttentionFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const AttentionConstants& c) {
    EagerTensors keep;
    at::Tensor out = EagerAttention(q, k, v, c.bias, c.scale, c.softcap, &keep);
    ctx->save_for_backward({keep.q, keep.k, keep.v, keep.probs, keep.capped});
    ctx->saved_data["scale"] = c.scale;
    ctx->saved_data["softcap"] = c.softcap ? *c.softcap : 0.0;
    ctx->saved_data["shape_q"] = q.sizes().vec();   // [B,H,T,D]
    ctx->saved_data["shape_kv"] = k.sizes().vec();  // [B,K,S,D]
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const EagerTensors keep{saved[0], saved[1], saved[2], saved[4], saved[3]};
    EagerGrads grads = EagerAttentionBackward(keep, grad_outputs[0], ctx->saved_data["scale"].toDouble(),
                                              ctx->saved_data["softcap"].toDouble(),
                                              ctx->saved_data["shape_q"].toIntVector(),
                                              ctx->saved_data["shape_kv"].toIntVector());
    return {grads.dq, grads.dk, grads.dv, at::Tensor()};
  }
};

// The eager computation of one query block: one node when gradients are wanted.
at::Tensor EagerBlock(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                      double scale, std::optional<double> softcap) {
  const bool training = c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (training && TrainingNodesSwitchedOn()) {
    return AttentionFunction::apply(q, k, v, AttentionConstants{bias, scale, softcap});
  }
  return EagerAttention(q, k, v, bias, scale, softcap);
}

}  // namespace

at::Tensor AttentionBias(const at::Tensor& query_positions, const at::Tensor& key_positions,
                         const at::Tensor& key_valid, std::int64_t sliding_window,
                         at::ScalarType dtype) {
  at::Tensor qp = query_positions.unsqueeze(-1);  // [B,T,1]
  at::Tensor kp = key_positions.unsqueeze(1);     // [B,1,S]
  at::Tensor allowed = (kp <= qp).logical_and(key_valid.unsqueeze(1));
  if (sliding_window > 0) allowed = allowed.logical_and(qp - kp < sliding_window);
  allowed = allowed.logical_or(allowed.any(-1, true).logical_not());
  const double lowest = dtype == at::kFloat      ? std::numeric_limits<float>::lowest()
                        : dtype == at::kBFloat16 ? -3.3895313892515355e38
                        : dtype == at::kHalf     ? -65504.0
                                                 : std::numeric_limits<double>::lowest();
  at::Tensor bias = at::zeros(allowed.sizes(), allowed.options().dtype(dtype));
  bias.masked_fill_(allowed.logical_not(), lowest);
  return bias.unsqueeze(1);  // [B,1,T,S]
}

common::StatusOr<AttentionImplementation> ParseAttentionImplementation(std::string_view name) {
  if (name == "auto") return AttentionImplementation::kAuto;
  if (name == "eager") return AttentionImplementation::kEager;
  if (name == "sdpa" || name == "flash") return AttentionImplementation::kScaledDotProduct;
  return common::InvalidArgumentError("model.attn_implementation: expected auto, sdpa, eager or flash, got '" +
                                      std::string(name) + "'");
}

bool FusedAttentionApplies(const at::Tensor& q, std::optional<double> softcap,
                           AttentionImplementation implementation) {
  // Fused kernels take no soft-cap; without one they are exact and much faster. One query per
  // row (decode): the grouped matmuls read each key once; the fused kernels would need k and v
  // repeated per query head first.
  return implementation != AttentionImplementation::kEager && !softcap && q.is_cuda() && q.size(2) > 1;
}

at::Tensor MaskedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& bias, double scale, std::optional<double> softcap,
                           std::int64_t query_block, AttentionImplementation implementation) {
  if (FusedAttentionApplies(q, softcap, implementation)) {
    const std::int64_t groups = q.size(1) / k.size(1);
    at::Tensor k_full = groups == 1 ? k : k.repeat_interleave(groups, 1);
    at::Tensor v_full = groups == 1 ? v : v.repeat_interleave(groups, 1);
    return compat::ScaledDotProductAttention(q, k_full, v_full, bias, false, scale);
  }
  const std::int64_t t = q.size(2);
  const std::int64_t rows = query_block > 0 ? query_block : QueryBlockRows(q.size(0) * q.size(1), k.size(2), q.device());
  if (t <= rows) return EagerBlock(q, k, v, bias, scale, softcap);
  std::vector<at::Tensor> blocks;
  for (std::int64_t start = 0; start < t; start += rows) {
    const std::int64_t len = std::min(rows, t - start);
    blocks.push_back(
        EagerBlock(q.narrow(2, start, len), k, v, bias.narrow(2, start, len), scale, softcap));
  }
  return at::cat(blocks, 2);
}

}  // namespace gspo::engine
