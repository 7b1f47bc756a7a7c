// One warp per row of S keys: the forward makes three passes over its row (the biased logits and
// their maximum, written to probs; the sum of exponentials; the probabilities), the backward two
// (the row's dot product of gradient and probabilities; the gradient). A row is a few KiB, so
// the passes after the first read it back from L1/L2. V consecutive elements per lane with
// 16-byte accesses when the rows allow it.
#include "worker/engine/kernels/attention_probs_kernels.h"

#include <cmath>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerBlock = kThreads / 32;

template <typename T, int V>
__global__ void AttentionProbsForwardKernel(AttentionProbsArgs a, T* scores, T* probs) {
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  if (row >= a.groups * a.group_rows) return;
  const int lane = threadIdx.x & 31;
  const std::int64_t group = row / a.group_rows, query = row % a.group_rows % a.queries;
  const T* bias = static_cast<const T*>(a.bias) + group / a.kv_heads * a.bias_batch_stride + query * a.bias_row_stride;
  T* s = scores + row * a.keys;
  T* p = probs + row * a.keys;
  const bool cap = a.softcap > 0.f;
  // LibTorch divides by a scalar as a product with its float reciprocal.
  const float inverse_cap = cap ? 1.f / a.softcap : 0.f;
  float top = -INFINITY;
  for (std::int64_t j = lane * V; j < a.keys; j += 32 * V) {
    float x[V], logit[V];
    LoadFloats<T, V>(s + j, x);
    LoadFloats<T, V>(bias + j, logit);
#pragma unroll
    for (int k = 0; k < V; ++k) {
      float c = Round<T>(x[k] * a.scale);
      if (cap) c = x[k] = Round<T>(Round<T>(tanhf(Round<T>(c * inverse_cap))) * a.softcap);
      logit[k] = Round<T>(c + logit[k]);
      top = fmaxf(top, logit[k]);
    }
    if (cap) StoreFloats<T, V>(s + j, x);
    StoreFloats<T, V>(p + j, logit);  // exact: already rounded to T
  }
  top = WarpMax(top);
  float sum = 0.f;
  for (std::int64_t j = lane * V; j < a.keys; j += 32 * V) {
    float logit[V];
    LoadFloats<T, V>(p + j, logit);
#pragma unroll
    for (int k = 0; k < V; ++k) sum += expf(logit[k] - top);
  }
  sum = WarpSum(sum);
  for (std::int64_t j = lane * V; j < a.keys; j += 32 * V) {
    float value[V];
    LoadFloats<T, V>(p + j, value);
#pragma unroll
    for (int k = 0; k < V; ++k) value[k] = expf(value[k] - top) / sum;
    StoreFloats<T, V>(p + j, value);
  }
}

template <typename T, int V>
__global__ void AttentionProbsBackwardKernel(AttentionProbsArgs a, T* grad, const T* probs, const T* capped) {
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  if (row >= a.groups * a.group_rows) return;
  const int lane = threadIdx.x & 31;
  T* g = grad + row * a.keys;
  const T* p = probs + row * a.keys;
  const T* c = capped != nullptr ? capped + row * a.keys : nullptr;
  float dot = 0.f;
  for (std::int64_t j = lane * V; j < a.keys; j += 32 * V) {
    float dg[V], pr[V];
    LoadFloats<T, V>(g + j, dg);
    LoadFloats<T, V>(p + j, pr);
#pragma unroll
    for (int k = 0; k < V; ++k) dot += dg[k] * pr[k];
  }
  dot = WarpSum(dot);
  const float inverse_cap = a.softcap > 0.f ? 1.f / a.softcap : 0.f;
  for (std::int64_t j = lane * V; j < a.keys; j += 32 * V) {
    float dg[V], pr[V], kept[V];
    LoadFloats<T, V>(g + j, dg);
    LoadFloats<T, V>(p + j, pr);
    if (c != nullptr) LoadFloats<T, V>(c + j, kept);
#pragma unroll
    for (int k = 0; k < V; ++k) {
      // The float32 softmax's backward, rounded as its output is cast back.
      float d = Round<T>(dg[k] * pr[k] - pr[k] * dot);
      if (c != nullptr) {
        // d/dx cap * tanh(x / cap) = 1 - tanh^2, with tanh = capped / cap as the model dtype.
        const float t = Round<T>(kept[k] * inverse_cap);
        d = Round<T>(d * (1.f - t * t));
      }
      dg[k] = d * a.scale;
    }
    StoreFloats<T, V>(g + j, dg);
  }
}

bool RowsAllowVectors(const AttentionProbsArgs& a, int vector, const void* x, const void* y, const void* z) {
  return a.keys % vector == 0 && a.bias_batch_stride % vector == 0 && a.bias_row_stride % vector == 0 &&
         Aligned16(x) && Aligned16(y) && (z == nullptr || Aligned16(z));
}

bool Valid(const AttentionProbsArgs& a) {
  return a.groups >= 0 && a.kv_heads > 0 && a.group_rows > 0 && a.queries > 0 && a.keys > 0 &&
         a.group_rows % a.queries == 0 && a.groups % a.kv_heads == 0;
}

unsigned Blocks(const AttentionProbsArgs& a) {
  return static_cast<unsigned>((a.groups * a.group_rows + kRowsPerBlock - 1) / kRowsPerBlock);
}

}  // namespace

cudaError_t AttentionProbsForward(DType dtype, const AttentionProbsArgs& args, void* scores, void* probs,
                                  cudaStream_t stream) {
  if (!Valid(args)) return cudaErrorInvalidValue;
  if (args.groups == 0) return cudaSuccess;
  return LaunchForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr int V = 16 / sizeof(T);
    T* s = static_cast<T*>(scores);
    T* p = static_cast<T*>(probs);
    if (RowsAllowVectors(args, V, s, p, args.bias)) {
      AttentionProbsForwardKernel<T, V><<<Blocks(args), kThreads, 0, stream>>>(args, s, p);
    } else {
      AttentionProbsForwardKernel<T, 1><<<Blocks(args), kThreads, 0, stream>>>(args, s, p);
    }
  });
}

cudaError_t AttentionProbsBackward(DType dtype, const AttentionProbsArgs& args, void* grad, const void* probs,
                                   const void* capped, cudaStream_t stream) {
  if (!Valid(args) || (args.softcap > 0.f && capped == nullptr)) return cudaErrorInvalidValue;
  if (args.groups == 0) return cudaSuccess;
  const void* kept = args.softcap > 0.f ? capped : nullptr;
  return LaunchForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr int V = 16 / sizeof(T);
    T* g = static_cast<T*>(grad);
    const T* p = static_cast<const T*>(probs);
    const T* c = static_cast<const T*>(kept);
    if (RowsAllowVectors(args, V, g, p, c)) {
      AttentionProbsBackwardKernel<T, V><<<Blocks(args), kThreads, 0, stream>>>(args, g, p, c);
    } else {
      AttentionProbsBackwardKernel<T, 1><<<Blocks(args), kThreads, 0, stream>>>(args, g, p, c);
    }
  });
}

}  // namespace gspo::engine::kernels
