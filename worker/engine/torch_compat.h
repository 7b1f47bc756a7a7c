// The one place where LibTorch 1.13 (Debian, CPU) and 2.x (GPU host) differ for this project.
// Include this instead of testing TORCH_VERSION_* elsewhere.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <torch/version.h>

namespace gspo::engine::compat {

inline constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// Scaled dot-product attention: public from 2.0 (with a `scale` argument from 2.1), private
// (_scaled_dot_product_attention, returning a tuple, always 1/sqrt(D)) in 1.13.
// Shapes: q [B,H,Tq,D], k/v [B,H,Tk,D] -> [B,H,Tq,D]. `scale` <= 0 means 1/sqrt(D).
inline at::Tensor ScaledDotProductAttention(const at::Tensor& q, const at::Tensor& k,
                                            const at::Tensor& v,
                                            const c10::optional<at::Tensor>& mask, bool causal,
                                            double scale = 0) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, causal,
                                          scale > 0 ? c10::optional<double>(scale) : c10::nullopt);
#else
  // Fold a custom scale into q: softmax(q' k^T / sqrt(D)) with q' = q * scale * sqrt(D).
  const at::Tensor q_scaled = scale > 0 ? q * (scale * std::sqrt(static_cast<double>(q.size(-1)))) : q;
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q_scaled, k, v, mask, 0.0, causal);
#else
  return std::get<0>(at::_scaled_dot_product_attention(q_scaled, k, v, mask, 0.0, false, causal));
#endif
#endif
}

// x * rsqrt(mean(x^2) + eps) * scale over the last dimension, all float32: fused at::rms_norm
// from 2.4, the same formula by hand before.
inline at::Tensor RmsNormFloat(const at::Tensor& x, const at::Tensor& scale, double eps) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::rms_norm(x, {x.size(-1)}, scale, eps);
#else
  return x * at::rsqrt(x.pow(2).mean(-1, true) + eps) * scale;
#endif
}

}  // namespace gspo::engine::compat
