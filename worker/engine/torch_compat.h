// The one place where LibTorch 1.13 (Debian, CPU) and 2.x (GPU host) differ for this project.
// Include this instead of testing TORCH_VERSION_* elsewhere.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

namespace gspo::engine::compat {

inline constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// Scaled dot-product attention: public from 2.0, private (_scaled_dot_product_attention,
// returning a tuple) in 1.13. Shapes: q [B,H,Tq,D], k/v [B,H,Tk,D] -> [B,H,Tq,D].
inline at::Tensor ScaledDotProductAttention(const at::Tensor& q, const at::Tensor& k,
                                            const at::Tensor& v,
                                            const c10::optional<at::Tensor>& mask, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, causal);
#else
  return std::get<0>(at::_scaled_dot_product_attention(q, k, v, mask, 0.0, false, causal));
#endif
}

}  // namespace gspo::engine::compat
