// The rotary embedding of training's queries and keys (model/rope.cc's node) as one kernel each
// way, on raw device pointers: the rotation and the change of layout in one pass, where the
// LibTorch operators take five (two products, a negation, a concatenation, a sum) and a copy.
// Each step rounds to T (bf16 or float) where those operators round, with no fused
// multiply-adds, so values are theirs to the bit. Returns the launch's cudaError_t, never throws;
// stateless, safe from any thread (on the caller's stream).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "worker/engine/kernels/decode_kernels.h"

namespace gspo::engine::kernels {

// Element (b, h, t, d) of a [B,H,T,D] tensor whose last dimension is contiguous.
struct HeadStrides {
  std::int64_t batch = 0, head = 0, token = 0;
};

struct RotaryArgs {
  const void* in = nullptr;
  void* out = nullptr;
  const void* cos = nullptr;  // [B,T,D] at table strides (T values; a batch stride of 0 broadcasts)
  const void* sin = nullptr;
  std::int64_t batch = 0, heads = 0, tokens = 0, head_dim = 0;  // head_dim even
  HeadStrides in_strides, out_strides;
  std::int64_t table_batch_stride = 0, table_token_stride = 0;
  // false: out = in cos + rotate_half(in) sin, rotate_half([x1, x2]) = [-x2, x1].
  // true: its adjoint (the gradient): out = in cos + [y2, -y1] with [y1, y2] = in sin.
  bool adjoint = false;
};
cudaError_t Rotary(DType dtype, const RotaryArgs& args, cudaStream_t stream);

}  // namespace gspo::engine::kernels
