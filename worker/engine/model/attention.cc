#include "worker/engine/model/attention.h"

#include <cmath>
#include <limits>

#include "worker/engine/torch_compat.h"

namespace gspo::engine {
namespace {

constexpr std::int64_t kQueryBlock = 256;

// The reference ("eager") computation for one block of queries. The R = H / K query heads that
// share a kv head are stacked along the query axis, so each kv head is one plain batched matmul
// against its keys: k and v are never expanded or copied (decode reads the whole cache per step,
// and a broadcast there would copy it R times per layer).
at::Tensor EagerAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& bias, double scale, std::optional<double> softcap) {
  const std::int64_t b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
  const std::int64_t kv = k.size(1), r = h / kv, s = k.size(2);
  at::Tensor q_grouped = q.reshape({b, kv, r * t, d});
  at::Tensor scores = at::matmul(q_grouped, k.transpose(-1, -2)) * scale;  // [B,K,R*T,S]
  if (softcap) scores = at::tanh(scores / *softcap) * *softcap;
  scores = scores.view({b, kv, r, t, s}) + bias.unsqueeze(2);  // bias [B,1,T,S] per head group
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type()).view({b, kv, r * t, s});
  return at::matmul(probs, v).view({b, h, t, d});
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

at::Tensor MaskedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& bias, double scale, std::optional<double> softcap) {
  // One query per row (decode): the grouped matmuls above read each key once; the fused kernels
  // would need k and v repeated per query head first.
  if (!softcap && q.is_cuda() && q.size(2) > 1) {
    // Fused kernels take no soft-cap; without one they are exact and much faster.
    const std::int64_t groups = q.size(1) / k.size(1);
    at::Tensor k_full = groups == 1 ? k : k.repeat_interleave(groups, 1);
    at::Tensor v_full = groups == 1 ? v : v.repeat_interleave(groups, 1);
    return compat::ScaledDotProductAttention(q, k_full, v_full, bias, false, scale);
  }
  const std::int64_t t = q.size(2);
  if (t <= kQueryBlock) return EagerAttention(q, k, v, bias, scale, softcap);
  std::vector<at::Tensor> blocks;
  for (std::int64_t start = 0; start < t; start += kQueryBlock) {
    const std::int64_t len = std::min(kQueryBlock, t - start);
    blocks.push_back(
        EagerAttention(q.narrow(2, start, len), k, v, bias.narrow(2, start, len), scale, softcap));
  }
  return at::cat(blocks, 2);
}

}  // namespace gspo::engine
