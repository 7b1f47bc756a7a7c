// The elementwise middle of eager attention (model/attention.cc) as one kernel each way, on raw
// device pointers: between the two batched products, the forward's scale, soft-cap, mask bias
// and float32 softmax, and the backward's softmax, soft-cap and scale gradients. The LibTorch
// operators make seven passes over the [B*K, R*T, S] scores forward and as many backward, with
// float32 copies between them; here each row of S keys is one warp's work. Each step rounds to T
// (bf16 or float) where those operators round; the softmax sums in another order, so values
// agree with theirs to float32 rounding, not always to the bit. Every function returns the
// launch's cudaError_t, never throws; stateless, safe from any thread (on the caller's stream).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "worker/engine/kernels/decode_kernels.h"

namespace gspo::engine::kernels {

struct AttentionProbsArgs {
  std::int64_t groups = 0;          // B * K: batch rows times kv heads
  std::int64_t kv_heads = 0;        // K
  std::int64_t group_rows = 0;      // R * T: the query heads sharing a kv head, stacked
  std::int64_t queries = 0;         // T: a row's query is row % T within its group
  std::int64_t keys = 0;            // S
  const void* bias = nullptr;       // [B, T, S] T values at bias_batch_stride, bias_row_stride
  std::int64_t bias_batch_stride = 0, bias_row_stride = 0;
  float scale = 1.f;
  float softcap = 0.f;  // <= 0: none
};

// Per row of scores [groups * group_rows, S] (T, contiguous): x = round(score * scale); under a
// cap, scores are replaced by c = round(round(tanh(round(x / cap))) * cap) (what backward
// needs), else c = x; probs = round(softmax_float32(round(c + bias))).
cudaError_t AttentionProbsForward(DType dtype, const AttentionProbsArgs& args, void* scores, void* probs,
                                  cudaStream_t stream);

// Replaces grad [rows, S] = dL/d probs by dL/d scores (the raw product's), from probs and, under
// a cap, the forward's capped scores (may be null without one); bias is not read.
cudaError_t AttentionProbsBackward(DType dtype, const AttentionProbsArgs& args, void* grad, const void* probs,
                                   const void* capped, cudaStream_t stream);

}  // namespace gspo::engine::kernels
