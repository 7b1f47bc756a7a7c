// Gemma's RMSNorm (out = norm(x) * (1 + w) in float32, rounded once to x's dtype) as one
// autograd node with one CUDA kernel each way (kernels/fused_ops.h), instead of LibTorch's cast to
// float32, norm and cast back, and the backward of each. Besides the launches, it saves x
// itself for backward where the LibTorch chain saves a float32 copy. Training's forward passes
// take it wherever it applies; the decode step has its own fused norms. Stateless; thread-safe.
#pragma once

#include <ATen/ATen.h>

namespace gspo::engine {

// Whether FusedGemmaRmsNorm takes x: the fused kernels are available for it (a CUDA bfloat16 or
// float32 tensor), x is contiguous, `scale` a float32 [E] that needs no gradient, and
// GSPO_FUSED_NORM=0 (read once, to compare) does not turn it off.
bool FusedGemmaNormApplies(const at::Tensor& x, const at::Tensor& scale);

// norm(x) * scale over the last dimension; its gradient reaches x only.
at::Tensor FusedGemmaRmsNorm(const at::Tensor& x, const at::Tensor& scale, double eps);

}  // namespace gspo::engine
