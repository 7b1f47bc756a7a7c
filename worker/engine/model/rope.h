// Rotary position embeddings (the rotate-half layout of Hugging Face checkpoints), with the
// default, linear and llama3 frequency scalings.
//
// Shapes: positions [B,T] int64; x [B,H,T,D]; cos/sin [B,1,T,D].
// Immutable after construction; safe to share across threads.
#pragma once

#include <ATen/ATen.h>

#include "worker/engine/model/model_config.h"

namespace gspo::engine {

class RotaryEmbedding {
 public:
  RotaryEmbedding(const RopeSpec& spec, std::int64_t head_dim, at::Device device);

  // cos and sin for `positions`, in `dtype`: [B,1,T,D] each.
  std::pair<at::Tensor, at::Tensor> CosSin(const at::Tensor& positions_bt,
                                           at::ScalarType dtype) const;

  const at::Tensor& inv_freq() const { return inv_freq_; }  // [D/2] float32

 private:
  at::Tensor inv_freq_;
};

// The cos and sin tables of one rotation (no gradient flows to them).
struct RotaryTables {
  at::Tensor cos, sin;
};

// x * cos + rotate_half(x) * sin, where rotate_half([x1, x2]) = [-x2, x1]. With gradients
// wanted for x, one autograd node (TrainingNodesSwitchedOn).
at::Tensor ApplyRotary(const at::Tensor& x_bhtd, const at::Tensor& cos, const at::Tensor& sin);

// The rotation without autograd, for nodes that own their backward: x [B,H,T,D] (contiguous last
// dimension) rotated into `out` (x's sizes, any layout with a contiguous last dimension), or with
// `adjoint` its gradient: out = dy cos + rotate_half^T(dy sin). On CUDA one kernel.
void RotateInto(const at::Tensor& x, const RotaryTables& tables, bool adjoint, const at::Tensor& out);

// The inverse frequencies of `spec` for `head_dim` ([D/2] float32, on the CPU).
at::Tensor RopeInverseFrequencies(const RopeSpec& spec, std::int64_t head_dim);

}  // namespace gspo::engine
