// One block per row for the forward (an online log-sum-exp: running max, sum of exponentials
// and their weighted sum of z, merged across threads at the end); a 2-D grid over (column
// range, row) for the elementwise backward.
#include "worker/engine/kernels/logprob_kernels.h"

#include <algorithm>
#include <cmath>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kForwardThreads = 512;
constexpr int kBackwardThreads = 256;
constexpr int kBackwardBlocksPerRow = 32;

// z from an element's kept value (the rounded tanh under a cap, else the logit itself), as the
// reference rounds it: round_T(cap * kept) / T, or kept / T. LibTorch divides by a scalar as a
// product with its float reciprocal, and so do these kernels.
template <typename T>
__device__ __forceinline__ float ScaledFromKept(float kept, float softcap, float inverse_temperature) {
  return (softcap > 0.f ? Round<T>(kept * softcap) : kept) * inverse_temperature;
}

// The scaled logit z of one element; `logit` becomes what backward needs (the rounded tanh
// under a cap, else unchanged).
template <typename T>
__device__ __forceinline__ float Scaled(float& logit, float softcap, float inverse_cap, float inverse_temperature) {
  if (softcap > 0.f) logit = Round<T>(tanhf(Round<T>(logit * inverse_cap)));
  return ScaledFromKept<T>(logit, softcap, inverse_temperature);
}

// A piece of z values as (max, sum of exp(z - max), sum of exp(z - max) z); pieces merge.
struct Running {
  float max = -INFINITY, sum = 0.f, weighted = 0.f;

  __device__ __forceinline__ void Merge(float other_max, float other_sum, float other_weighted) {
    if (other_max == -INFINITY) return;
    if (max == -INFINITY) {
      max = other_max, sum = other_sum, weighted = other_weighted;
      return;
    }
    const float top = fmaxf(max, other_max), a = __expf(max - top), b = __expf(other_max - top);
    sum = sum * a + other_sum * b;
    weighted = weighted * a + other_weighted * b;
    max = top;
  }
};

// V = 16 / sizeof(T) elements per access when the rows allow it (vocab % V == 0, aligned), else 1.
template <typename T, int V>
__global__ void LogProbForwardKernel(LogProbArgs a, float* logp, float* log_sum_exp, float* entropy) {
  __shared__ float maxes[32], sums[32], weights[32];
  const std::int64_t row = blockIdx.x;
  T* logits = static_cast<T*>(a.logits) + row * a.vocab;
  const bool cap = a.softcap > 0.f;
  const float inverse_cap = cap ? 1.f / a.softcap : 0.f, inverse_temperature = 1.f / a.temperature;
  Running mine;
  for (std::int64_t j = threadIdx.x * V; j < a.vocab; j += blockDim.x * V) {
    float v[V], z[V];
    LoadFloats<T, V>(logits + j, v);
    float top = -INFINITY;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      z[k] = Scaled<T>(v[k], a.softcap, inverse_cap, inverse_temperature);
      top = fmaxf(top, z[k]);
    }
    if (cap) StoreFloats<T, V>(logits + j, v);  // exact: already rounded to T
    // The V values merge into the running sums as one piece: two exponentials per piece for the
    // rescaling instead of a branch per element.
    float sum = 0.f, weighted = 0.f;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const float e = __expf(z[k] - top);
      sum += e;
      weighted += e * z[k];
    }
    mine.Merge(top, sum, weighted);
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float m = __shfl_xor_sync(0xffffffffu, mine.max, offset);
    const float s = __shfl_xor_sync(0xffffffffu, mine.sum, offset);
    const float w = __shfl_xor_sync(0xffffffffu, mine.weighted, offset);
    mine.Merge(m, s, w);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    maxes[warp] = mine.max;
    sums[warp] = mine.sum;
    weights[warp] = mine.weighted;
  }
  __syncthreads();  // also: every thread's kept values are written
  if (threadIdx.x != 0) return;
  Running all;
  for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) all.Merge(maxes[w], sums[w], weights[w]);
  const float lse = all.max + logf(all.sum);
  // The target's z again from what this block stored (its kept value under a cap).
  const std::int64_t target = a.targets[row];
  if (target < 0 || target >= a.vocab) {  // no such token: say so rather than read past the row
    log_sum_exp[row] = lse;
    logp[row] = NAN;
    if (entropy != nullptr) entropy[row] = NAN;
    return;
  }
  const float z = ScaledFromKept<T>(ToFloat(logits[target]), a.softcap, inverse_temperature);
  log_sum_exp[row] = lse;
  logp[row] = z - lse;
  // -sum p log p = -sum p (z - lse) = lse - sum p z.
  if (entropy != nullptr) entropy[row] = lse - all.weighted / all.sum;
}

template <typename T, int V>
__global__ void LogProbBackwardKernel(LogProbArgs a, const float* log_sum_exp, const float* grad_logp,
                                      T* grad_logits) {
  const std::int64_t row = blockIdx.y;
  const T* kept = static_cast<const T*>(a.logits) + row * a.vocab;
  T* out = grad_logits + row * a.vocab;
  const float lse = log_sum_exp[row], g = grad_logp[row], inverse_temperature = 1.f / a.temperature;
  const std::int64_t target = a.targets[row];
  for (std::int64_t j = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) * V; j < a.vocab;
       j += static_cast<std::int64_t>(gridDim.x) * blockDim.x * V) {
    float c[V];
    LoadFloats<T, V>(kept + j, c);
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const float z = ScaledFromKept<T>(c[k], a.softcap, inverse_temperature);
      // d logp / d z / T, then d capped / d logit under a cap.
      float d = g * ((j + k == target ? 1.f : 0.f) - __expf(z - lse)) * inverse_temperature;
      if (a.softcap > 0.f) d *= 1.f - c[k] * c[k];
      c[k] = d;
    }
    StoreFloats<T, V>(out + j, c);
  }
}

// 16-byte accesses fit: every row starts aligned and holds whole vectors.
bool RowsAllowVectors(const LogProbArgs& a, int vector, const void* other) {
  return a.vocab % vector == 0 && Aligned16(a.logits) && (other == nullptr || Aligned16(other));
}

bool Valid(const LogProbArgs& a) {
  return a.logits != nullptr && a.targets != nullptr && a.rows >= 0 && a.rows <= 0x7fffffff && a.vocab > 0 &&
         a.temperature > 0.f;
}

}  // namespace

cudaError_t LogProbForward(DType dtype, const LogProbArgs& a, float* logp, float* log_sum_exp, float* entropy,
                           cudaStream_t stream) {
  if (!Valid(a) || logp == nullptr || log_sum_exp == nullptr) return cudaErrorInvalidValue;
  if (a.rows == 0) return cudaSuccess;
  const unsigned blocks = static_cast<unsigned>(a.rows);
  return LaunchForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr int V = 16 / sizeof(T);
    if (RowsAllowVectors(a, V, nullptr)) {
      LogProbForwardKernel<T, V><<<blocks, kForwardThreads, 0, stream>>>(a, logp, log_sum_exp, entropy);
    } else {
      LogProbForwardKernel<T, 1><<<blocks, kForwardThreads, 0, stream>>>(a, logp, log_sum_exp, entropy);
    }
  });
}

cudaError_t LogProbBackward(DType dtype, const LogProbArgs& a, const float* log_sum_exp, const float* grad_logp,
                            void* grad_logits, cudaStream_t stream) {
  if (!Valid(a) || log_sum_exp == nullptr || grad_logp == nullptr || grad_logits == nullptr) {
    return cudaErrorInvalidValue;
  }
  if (a.rows == 0) return cudaSuccess;
  if (a.rows > 65535) return cudaErrorNotSupported;  // one grid row per row
  return LaunchForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr int V = 16 / sizeof(T);
    const bool vectors = RowsAllowVectors(a, V, grad_logits);
    const std::int64_t per_row = (a.vocab / (vectors ? V : 1) + kBackwardThreads - 1) / kBackwardThreads;
    const dim3 grid(static_cast<unsigned>(std::min<std::int64_t>(per_row, kBackwardBlocksPerRow)),
                    static_cast<unsigned>(a.rows));
    T* out = static_cast<T*>(grad_logits);
    if (vectors) {
      LogProbBackwardKernel<T, V><<<grid, kBackwardThreads, 0, stream>>>(a, log_sum_exp, grad_logp, out);
    } else {
      LogProbBackwardKernel<T, 1><<<grid, kBackwardThreads, 0, stream>>>(a, log_sum_exp, grad_logp, out);
    }
  });
}

}  // namespace gspo::engine::kernels
