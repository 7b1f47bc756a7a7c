// One block per row for the forward (an online log-sum-exp: running max, sum of exponentials
// and their weighted sum of z, merged across threads at the end); a 2-D grid over (column
// range, row) for the elementwise backward.
#include "worker/engine/kernels/logprob_kernels.h"

#include <cmath>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kForwardThreads = 512;
constexpr int kBackwardThreads = 256;
constexpr int kBackwardBlocksPerRow = 32;

// z from an element's kept value (the rounded tanh under a cap, else the logit itself), as the
// reference rounds it: round_T(cap * kept) / T, or kept / T.
template <typename T>
__device__ __forceinline__ float ScaledFromKept(float kept, float softcap, float temperature) {
  return (softcap > 0.f ? Round<T>(kept * softcap) : kept) / temperature;
}

// The scaled logit z of one element; `kept` receives what backward needs.
template <typename T>
__device__ __forceinline__ float Scaled(float logit, float softcap, float temperature, T* kept) {
  if (softcap <= 0.f) return ScaledFromKept<T>(logit, softcap, temperature);
  const T c = FromFloat<T>(tanhf(Round<T>(logit / softcap)));
  *kept = c;
  return ScaledFromKept<T>(ToFloat(c), softcap, temperature);
}

// z's contribution to (max, sum of exp(z - max), sum of exp(z - max) z).
struct Running {
  float max = -INFINITY, sum = 0.f, weighted = 0.f;

  __device__ __forceinline__ void Add(float z) {
    if (z > max) {
      const float shrink = __expf(max - z);  // 0 while max is -inf
      sum = sum * shrink + 1.f;
      weighted = weighted * shrink + z;
      max = z;
    } else {
      const float e = __expf(z - max);
      sum += e;
      weighted += e * z;
    }
  }
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

template <typename T>
__global__ void LogProbForwardKernel(LogProbArgs a, float* logp, float* log_sum_exp, float* entropy) {
  __shared__ float maxes[32], sums[32], weights[32];
  const std::int64_t row = blockIdx.x;
  T* logits = static_cast<T*>(a.logits) + row * a.vocab;
  Running mine;
  for (std::int64_t j = threadIdx.x; j < a.vocab; j += blockDim.x) {
    mine.Add(Scaled<T>(ToFloat(logits[j]), a.softcap, a.temperature, &logits[j]));
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
  const float z = ScaledFromKept<T>(ToFloat(logits[target]), a.softcap, a.temperature);
  log_sum_exp[row] = lse;
  logp[row] = z - lse;
  // -sum p log p = -sum p (z - lse) = lse - sum p z.
  if (entropy != nullptr) entropy[row] = lse - all.weighted / all.sum;
}

template <typename T>
__global__ void LogProbBackwardKernel(LogProbArgs a, const float* log_sum_exp, const float* grad_logp,
                                      T* grad_logits) {
  const std::int64_t row = blockIdx.y;
  const T* kept = static_cast<const T*>(a.logits) + row * a.vocab;
  T* out = grad_logits + row * a.vocab;
  const float lse = log_sum_exp[row], g = grad_logp[row];
  const std::int64_t target = a.targets[row];
  for (std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; j < a.vocab;
       j += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const float c = ToFloat(kept[j]);
    const float z = ScaledFromKept<T>(c, a.softcap, a.temperature);
    float d = g * ((j == target ? 1.f : 0.f) - __expf(z - lse)) / a.temperature;  // d logp / d z / T
    if (a.softcap > 0.f) d *= 1.f - c * c;                                      // d capped / d logit
    out[j] = FromFloat<T>(d);
  }
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
  if (dtype == DType::kBFloat16) {
    LogProbForwardKernel<__nv_bfloat16><<<blocks, kForwardThreads, 0, stream>>>(a, logp, log_sum_exp, entropy);
  } else {
    LogProbForwardKernel<float><<<blocks, kForwardThreads, 0, stream>>>(a, logp, log_sum_exp, entropy);
  }
  return cudaGetLastError();
}

cudaError_t LogProbBackward(DType dtype, const LogProbArgs& a, const float* log_sum_exp, const float* grad_logp,
                            void* grad_logits, cudaStream_t stream) {
  if (!Valid(a) || log_sum_exp == nullptr || grad_logp == nullptr || grad_logits == nullptr) {
    return cudaErrorInvalidValue;
  }
  if (a.rows == 0) return cudaSuccess;
  if (a.rows > 65535) return cudaErrorNotSupported;  // one grid row per row
  const std::int64_t per_row = (a.vocab + kBackwardThreads - 1) / kBackwardThreads;
  const dim3 grid(static_cast<unsigned>(per_row < kBackwardBlocksPerRow ? per_row : kBackwardBlocksPerRow),
                  static_cast<unsigned>(a.rows));
  if (dtype == DType::kBFloat16) {
    LogProbBackwardKernel<__nv_bfloat16><<<grid, kBackwardThreads, 0, stream>>>(
        a, log_sum_exp, grad_logp, static_cast<__nv_bfloat16*>(grad_logits));
  } else {
    LogProbBackwardKernel<float><<<grid, kBackwardThreads, 0, stream>>>(a, log_sum_exp, grad_logp,
                                                                       static_cast<float*>(grad_logits));
  }
  return cudaGetLastError();
}

}  // namespace gspo::engine::kernels
