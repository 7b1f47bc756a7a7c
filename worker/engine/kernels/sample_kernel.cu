// One sampling step per row without sorting the vocabulary (decode_kernels.h).
//
// One block per row. Pass 1 soft-caps the logits in place and finds the row's max and
// log-sum-exp. The top-p boundary is then found by bisection over the values' order-preserving
// integer keys: the mass of {z >= key} only grows as the key falls, and the kept set is
// {z >= the largest key whose mass reaches top_p} (an 8-way search: 6 passes for bf16 logits,
// 11 for float, each a read of the row from L2). The draw walks the kept tokens in a fixed order (thread,
// then stride) with a block-wide prefix sum. Every sum has a fixed order: the same inputs give
// the same token.
#include <climits>
#include <cstdint>
#include <cmath>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kThreads = 1024;

// Order-preserving unsigned keys: a < b as values iff Key(a) < Key(b).
template <typename T>
struct Keys;
template <>
struct Keys<__nv_bfloat16> {
  using U = unsigned int;
  static constexpr int kBits = 16;
  __device__ static U Of(__nv_bfloat16 v) {
    const unsigned short bits = __bfloat16_as_ushort(v);
    return (bits & 0x8000u) ? (~bits & 0xffffu) : (bits | 0x8000u);
  }
};
template <>
struct Keys<float> {
  using U = unsigned long long;
  static constexpr int kBits = 32;
  __device__ static U Of(float v) {
    const unsigned int bits = __float_as_uint(v);
    return (bits & 0x80000000u) ? (~bits) : (bits | 0x80000000u);
  }
};

// The soft-capped logit as the reference computes it on T: (logit / cap), tanh, * cap, each
// rounded to T.
template <typename T>
__device__ __forceinline__ T Capped(T raw, float softcap) {
  if (softcap <= 0.f) return raw;
  const float scaled = Round<T>(ToFloat(raw) / softcap);
  return FromFloat<T>(Round<T>(tanhf(scaled)) * softcap);
}

// Exclusive prefix sum over the block in thread order; also returns the total.
__device__ float BlockExclusiveScan(float v, float* total, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  float inclusive = v;
  for (int offset = 1; offset < 32; offset <<= 1) {
    const float up = __shfl_up_sync(0xffffffffu, inclusive, offset);
    if (lane >= offset) inclusive += up;
  }
  __syncthreads();
  if (lane == 31) scratch[warp] = inclusive;
  __syncthreads();
  float warp_offset = 0.f, sum = 0.f;
  for (int w = 0; w < warps; ++w) {
    if (w < warp) warp_offset += scratch[w];
    sum += scratch[w];
  }
  *total = sum;
  return warp_offset + inclusive - v;
}

// Visits a row in the block's fixed order: thread t takes chunks t, t + blockDim, ... of
// 16 bytes (one load each, several in flight), then the tail one element at a time. Every pass
// uses this order, so per-thread sums and the final walk agree. `f(index, value)`.
template <typename T, typename F>
__device__ __forceinline__ void ForEach(const T* row, std::int64_t vocab, bool vectorized, F&& f) {
  constexpr int kChunk = 16 / sizeof(T);
  std::int64_t done = 0;
  if (vectorized) {
    const std::int64_t chunks = vocab / kChunk;
    const uint4* src = reinterpret_cast<const uint4*>(row);
#pragma unroll 4
    for (std::int64_t c = threadIdx.x; c < chunks; c += blockDim.x) {
      const uint4 raw = src[c];
      const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int j = 0; j < kChunk; ++j) f(c * kChunk + j, e[j]);
    }
    done = chunks * kChunk;
  }
  for (std::int64_t i = done + threadIdx.x; i < vocab; i += blockDim.x) f(i, row[i]);
}

// Soft-caps a row in place (same order and chunking as ForEach).
template <typename T>
__device__ __forceinline__ void CapRow(T* row, std::int64_t vocab, bool vectorized, float softcap) {
  constexpr int kChunk = 16 / sizeof(T);
  std::int64_t done = 0;
  if (vectorized) {
    const std::int64_t chunks = vocab / kChunk;
    uint4* data = reinterpret_cast<uint4*>(row);
#pragma unroll 4
    for (std::int64_t c = threadIdx.x; c < chunks; c += blockDim.x) {
      uint4 raw = data[c];
      T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
      for (int j = 0; j < kChunk; ++j) e[j] = Capped(e[j], softcap);
      data[c] = raw;
    }
    done = chunks * kChunk;
  }
  for (std::int64_t i = done + threadIdx.x; i < vocab; i += blockDim.x) row[i] = Capped(row[i], softcap);
}

template <typename T>
__global__ void __launch_bounds__(kThreads) SampleKernel(SampleArgs a) {
  using K = Keys<T>;
  __shared__ float scratch[32];
  __shared__ float starts[kThreads + 1];
  __shared__ int chosen;  // -(token) - 1 of the lowest claim, so atomicMax picks it
  __shared__ int last_kept_thread;
  const int row = blockIdx.x;
  T* logits = static_cast<T*>(a.logits) + row * a.logits_stride;
  // Greedy reports log_softmax of the logits themselves; sampling of logits / temperature.
  const float inv_t = a.greedy ? 1.f : 1.f / a.temperature;
  const std::int64_t vocab = a.vocab;

  const bool vectorized = reinterpret_cast<std::uintptr_t>(logits) % 16 == 0 &&
                          (a.logits_stride * static_cast<std::int64_t>(sizeof(T))) % 16 == 0;

  // Pass 1: cap in place (each thread rewrites only what it later reads); then one pass for the
  // max, its first index, and the sum of exponentials relative to a running max.
  if (a.softcap > 0.f) CapRow(logits, vocab, vectorized, a.softcap);
  float best = -INFINITY, scaled_sum = 0.f;
  std::int64_t best_index = vocab;
  ForEach(logits, vocab, vectorized, [&](std::int64_t i, T v) {
    const float z = ToFloat(v) * inv_t;
    if (z == -INFINITY) return;  // no mass, and exp(-inf - -inf) would poison the sum
    if (z > best) {
      scaled_sum = scaled_sum * __expf(best - z);
      best = z;
      best_index = i;
    } else if (z == best && i < best_index) {
      best_index = i;
    }
    scaled_sum += __expf(z - best);
  });
  const float row_max = BlockMax(best, scratch);
  const float mine_sum = best == -INFINITY ? 0.f : scaled_sum * __expf(best - row_max);
  const float log_norm = row_max + logf(BlockSum(mine_sum, scratch));

  if (threadIdx.x == 0) {
    chosen = INT_MIN;
    last_kept_thread = -1;
  }
  __syncthreads();
  if (a.greedy) {
    if (best == row_max) atomicMax(&chosen, -static_cast<int>(best_index) - 1);
  } else {
    // The top-p boundary: the largest key whose mass {key(z) >= k} reaches top_p. Invariant:
    // mass(lo) >= top_p > mass(hi) (hi may be past every key). Each pass reads the row once and
    // weighs 7 candidate keys that split [lo, hi) in eighths, so 16-bit keys take 6 passes.
    constexpr int kCandidates = 7;
    __shared__ float partial[kCandidates][32];
    typename K::U lo = 0, hi = (typename K::U(1) << K::kBits);
    if (a.top_p < 1.f) {
      while (hi - lo > 1) {
        const typename K::U span = hi - lo;
        typename K::U candidate[kCandidates];
        float mass[kCandidates];
#pragma unroll
        for (int m = 0; m < kCandidates; ++m) {
          candidate[m] = lo + span * (m + 1) / (kCandidates + 1);
          mass[m] = 0.f;
        }
        ForEach(logits, vocab, vectorized, [&](std::int64_t, T v) {
          const typename K::U key = K::Of(v);
          if (key < candidate[0]) return;
          const float p = __expf(ToFloat(v) * inv_t - log_norm);
#pragma unroll
          for (int m = 0; m < kCandidates; ++m) mass[m] += key >= candidate[m] ? p : 0.f;
        });
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        __syncthreads();  // the previous pass's partial sums have been read
#pragma unroll
        for (int m = 0; m < kCandidates; ++m) {
          const float w = WarpSum(mass[m]);
          if (lane == 0) partial[m][warp] = w;
        }
        __syncthreads();
        typename K::U next_lo = lo, next_hi = candidate[0];
        for (int m = kCandidates - 1; m >= 0; --m) {
          float total = 0.f;
          for (int w = 0; w < (kThreads >> 5); ++w) total += partial[m][w];
          if (total >= a.top_p) {
            next_lo = candidate[m];
            next_hi = m + 1 < kCandidates ? candidate[m + 1] : hi;
            break;
          }
        }
        lo = next_lo;
        hi = next_hi;
      }
    }
    // The kept tokens' mass per thread and its prefix sums partition [0, kept mass): the
    // thread whose range holds the target walks its tokens to it.
    float mine = 0.f;
    ForEach(logits, vocab, vectorized, [&](std::int64_t, T v) {
      if (K::Of(v) >= lo) mine += __expf(ToFloat(v) * inv_t - log_norm);
    });
    float kept_mass;
    const float before = BlockExclusiveScan(mine, &kept_mass, scratch);
    starts[threadIdx.x] = before;
    if (threadIdx.x == 0) starts[kThreads] = kept_mass;
    if (mine > 0.f) atomicMax(&last_kept_thread, static_cast<int>(threadIdx.x));
    __syncthreads();
    const float target = a.uniforms[row * a.uniforms_stride + a.step] * kept_mass;
    const bool in_range = mine > 0.f && before <= target && target < starts[threadIdx.x + 1];
    // Rounding can leave the target outside every range: the last thread with mass takes it.
    const bool fallback = threadIdx.x == last_kept_thread && target >= before + mine;
    if (in_range || fallback) {
      float acc = before;
      int pick = -1, last = -1;
      ForEach(logits, vocab, vectorized, [&](std::int64_t i, T v) {
        if (pick >= 0 || K::Of(v) < lo) return;
        last = static_cast<int>(i);
        acc += __expf(ToFloat(v) * inv_t - log_norm);
        if (in_range && acc > target) pick = last;
      });
      if (last >= 0) atomicMax(&chosen, -(pick >= 0 ? pick : last) - 1);
    }
  }
  __syncthreads();
  // Nothing claimed only when every logit is NaN: report the first token.
  const std::int64_t token = chosen == INT_MIN ? 0 : -static_cast<std::int64_t>(chosen) - 1;
  if (threadIdx.x == 0) {
    const std::int64_t out_at = a.row_index[row] * a.out_stride + a.step;
    a.out_tokens[out_at] = token;
    a.out_logprobs[out_at] = ToFloat(logits[token]) * inv_t - log_norm;
    a.next_ids[row] = token;
    bool stop = false;
    for (int s = 0; s < a.num_stop_ids; ++s) stop |= a.stop_ids[s] == token;
    if (stop) a.finished[row] = true;
  }
}

}  // namespace

cudaError_t SampleTopP(DType dtype, const SampleArgs& args, cudaStream_t stream) {
  if (args.rows == 0) return cudaSuccess;
  if (args.vocab >= (std::int64_t{1} << 31)) return cudaErrorNotSupported;
  if (dtype == DType::kBFloat16) {
    SampleKernel<__nv_bfloat16><<<args.rows, kThreads, 0, stream>>>(args);
  } else {
    SampleKernel<float><<<args.rows, kThreads, 0, stream>>>(args);
  }
  return cudaGetLastError();
}

}  // namespace gspo::engine::kernels
