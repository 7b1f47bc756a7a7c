// One sampling step per row without sorting the vocabulary (decode_kernels.h).
//
// One block per row. Pass 1 soft-caps the logits in place and finds the row's max and
// log-sum-exp. The top-p boundary is then found by bisection over the values' order-preserving
// integer keys: the mass of {z >= key} only grows as the key falls, and the kept set is
// {z >= the largest key whose mass reaches top_p} (an 8-way search: 6 passes for bf16 logits,
// 11 for float, each a read of the row from L2). The draw walks the kept tokens in a fixed order
// (thread, then stride) with a block-wide prefix sum. Every sum has a fixed order: the same
// inputs give the same token. On Hopper a cluster of blocks shares each row instead
// (SampleClusterKernel), each block keeping its part of the row in shared memory for the passes.
#include <climits>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include <cooperative_groups.h>

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

// Element j of a 16-byte chunk of T, and the chunk with element j replaced: register moves
// only (a chunk reinterpreted as an array and written to lives in local memory).
template <typename T>
__device__ __forceinline__ T ChunkElement(const uint4& raw, int j);
template <>
__device__ __forceinline__ __nv_bfloat16 ChunkElement<__nv_bfloat16>(const uint4& raw, int j) {
  const unsigned word = j < 2 ? raw.x : j < 4 ? raw.y : j < 6 ? raw.z : raw.w;
  return __ushort_as_bfloat16(static_cast<unsigned short>((j & 1) ? word >> 16 : word & 0xffffu));
}
template <>
__device__ __forceinline__ float ChunkElement<float>(const uint4& raw, int j) {
  return __uint_as_float(j == 0 ? raw.x : j == 1 ? raw.y : j == 2 ? raw.z : raw.w);
}
template <typename T>
__device__ __forceinline__ void SetChunkElement(uint4& raw, int j, T v);
template <>
__device__ __forceinline__ void SetChunkElement<__nv_bfloat16>(uint4& raw, int j, __nv_bfloat16 v) {
  unsigned& word = j < 2 ? raw.x : j < 4 ? raw.y : j < 6 ? raw.z : raw.w;
  const unsigned bits = __bfloat16_as_ushort(v);
  word = (j & 1) ? (word & 0xffffu) | (bits << 16) : (word & 0xffff0000u) | bits;
}
template <>
__device__ __forceinline__ void SetChunkElement<float>(uint4& raw, int j, float v) {
  (j == 0 ? raw.x : j == 1 ? raw.y : j == 2 ? raw.z : raw.w) = __float_as_uint(v);
}

// A thread's max of z = logit / T, the first index holding it, and the sum of exp(z - max) kept
// relative to the running max. Threads visit their indices in increasing order, so the first
// index of the max is the first one met.
struct RunningExpSum {
  float best = -INFINITY, sum = 0.f;
  std::int64_t best_index;

  __device__ explicit RunningExpSum(std::int64_t none) : best_index(none) {}

  // A max `z` at index `i` from now on: the sum so far rescaled (from -inf: 0, or NaN kept).
  __device__ __forceinline__ void Raise(float z, std::int64_t i) {
    sum = sum * __expf(best - z);
    best = z;
    best_index = i;
  }
  __device__ __forceinline__ void Add(float z, std::int64_t i) {
    if (z == -INFINITY) return;  // no mass, and exp(-inf - -inf) would poison the sum
    if (z > best) Raise(z, i);
    sum += __expf(z - best);
  }
  // The sum relative to the row's max.
  __device__ __forceinline__ float RelativeTo(float row_max) const {
    return best == -INFINITY ? 0.f : sum * __expf(best - row_max);
  }
};

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
  RunningExpSum running(vocab);
  ForEach(logits, vocab, vectorized, [&](std::int64_t i, T v) { running.Add(ToFloat(v) * inv_t, i); });
  const float best = running.best;
  const std::int64_t best_index = running.best_index;
  const float row_max = BlockMax(best, scratch);
  const float log_norm = row_max + logf(BlockSum(running.RelativeTo(row_max), scratch));

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

// The same step with each row cut across a cluster of kClusterBlocks blocks (Hopper thread
// block clusters): block c of a row's cluster owns the c-th range of its 16-byte chunks, and the
// row-wide reductions combine the blocks' partial results through distributed shared memory in
// block order, so every block takes the same decisions and the result is still independent of
// scheduling. The visiting order of a draw is (block, thread, stride).
//
// Top-p here draws first and checks after (rejection): draw a token t from the tokens above a
// pivot in proportion to their probabilities; t is in the kept set iff the mass of the tokens
// ranked strictly above it is below top_p, which is the total of the next draw's pass (the
// tokens above the pivot key(t)). Accepted, t is a draw from the kept set with its renormalised
// probabilities (every kept token ranks above every rejected one, so no kept token is ever cut
// off); rejected, the next round draws above t. Each round accepts with probability >= top_p, so
// a draw takes about two passes over the row instead of the search's eight; after `rounds`
// rejections the kernel falls back to the search for the boundary (the kept set is the same:
// {key >= k} for the largest k whose mass {key >= k} reaches top_p).
constexpr int kClusterBlocks = 8;

namespace cg = cooperative_groups;

// Visits this block's part of the row: chunks [first, last) of 16 bytes, thread t taking
// first + t, first + t + blockDim, ...; the last block also takes the tail past the chunks.
// Chunk c is read from chunks[c - chunks_first]: the row itself, or the block's copy of its
// part in shared memory.
template <typename T, typename F>
__device__ __forceinline__ void ForEachInRange(const uint4* chunks, std::int64_t chunks_first, const T* row,
                                               std::int64_t first, std::int64_t last, std::int64_t tail_from,
                                               std::int64_t vocab, F&& f) {
  constexpr int kChunk = 16 / sizeof(T);
#pragma unroll 4
  for (std::int64_t c = first + threadIdx.x; c < last; c += blockDim.x) {
    const uint4 raw = chunks[c - chunks_first];
#pragma unroll
    for (int j = 0; j < kChunk; ++j) f(c * kChunk + j, ChunkElement<T>(raw, j));
  }
  for (std::int64_t i = tail_from + threadIdx.x; i < vocab; i += blockDim.x) f(i, row[i]);
}

// Combines one float per block of the cluster in block order (max or sum); every thread of
// every block gets the same value. `slot` is this block's shared float; the call synchronises
// the cluster twice (the second so that no block overwrites `slot` while another reads it).
__device__ __forceinline__ float ClusterCombine(cg::cluster_group& cluster, float* slot, float block_value,
                                                bool take_max) {
  if (threadIdx.x == 0) *slot = block_value;
  cluster.sync();
  float value = take_max ? -INFINITY : 0.f;
  for (unsigned r = 0; r < kClusterBlocks; ++r) {
    const float v = *cluster.map_shared_rank(slot, r);
    value = take_max ? fmaxf(value, v) : value + v;
  }
  cluster.sync();
  return value;
}

// The uniform of rejection round `round`: the step's own for round 0, then a hash of it (the
// step's uniform is the only randomness a row gets per step; the hash spreads what is left of it
// after a rejection over [0, 1) again).
__device__ __forceinline__ float RoundUniform(float u, int round) {
  if (round == 0) return u;
  unsigned x = __float_as_uint(u) ^ (0x9e3779b9u * static_cast<unsigned>(round));
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return static_cast<float>(x >> 8) * (1.f / 16777216.f);
}

// kStaged: the block keeps its part of the (capped) row in shared memory after the first read,
// so the later passes read it there instead of from L2; each thread reads back only the chunks
// it wrote, so no barrier is needed.
template <typename T, bool kStaged, int kThreads>
__global__ void __cluster_dims__(kClusterBlocks, 1, 1) __launch_bounds__(kThreads, 1024 / kThreads)
    SampleClusterKernel(SampleArgs a, int rounds) {
  using K = Keys<T>;
  using Key = long long;  // keys as signed, so that -1 is "below every key"
  constexpr int kChunk = 16 / sizeof(T);
  constexpr int kCandidates = 7;
  constexpr int kWarpsPerBlock = kThreads / 32;
  cg::cluster_group cluster = cg::this_cluster();
  __shared__ float scratch[32];
  __shared__ float slot;
  __shared__ float starts[kThreads + 1];
  __shared__ float partial[kCandidates][kWarpsPerBlock];
  __shared__ float block_mass[kCandidates];
  // Rank 0's, one pair per round parity (a round resets the other pair once every block is past
  // reading it): -(token) - 1 of the lowest claim, so atomicMax picks it; the highest
  // (block, thread) with mass in the round's range.
  __shared__ int chosen[2];
  __shared__ int last_kept[2];
  const unsigned rank = cluster.block_rank();
  const int row = blockIdx.x / kClusterBlocks;
  T* logits = static_cast<T*>(a.logits) + row * a.logits_stride;
  const float inv_t = a.greedy ? 1.f : 1.f / a.temperature;
  const std::int64_t vocab = a.vocab;
  const std::int64_t chunks = vocab / kChunk;
  const std::int64_t per_block = (chunks + kClusterBlocks - 1) / kClusterBlocks;
  const std::int64_t first = rank * per_block < chunks ? rank * per_block : chunks;
  const std::int64_t last = first + per_block < chunks ? first + per_block : chunks;
  const std::int64_t tail_from = rank == kClusterBlocks - 1 ? chunks * kChunk : vocab;
  extern __shared__ uint4 staged[];
  const uint4* const chunks_at = kStaged ? staged : reinterpret_cast<const uint4*>(logits);
  const std::int64_t chunks_first = kStaged ? first : 0;
  const auto for_each = [&](auto&& f) {
    ForEachInRange(chunks_at, chunks_first, logits, first, last, tail_from, vocab, f);
  };
  int* chosen0 = cluster.map_shared_rank(chosen, 0);
  int* last_kept0 = cluster.map_shared_rank(last_kept, 0);
  if (rank == 0 && threadIdx.x == 0) {
    chosen[0] = INT_MIN;
    last_kept[0] = -1;
  }

  // Pass 1: cap in place (and stage), with the max, its first index and the sum of exponentials
  // relative to a running max taken on the way, rescaled once per chunk.
  RunningExpSum running(vocab);
  {
    uint4* data = reinterpret_cast<uint4*>(logits);
#pragma unroll 2
    for (std::int64_t c = first + threadIdx.x; c < last; c += blockDim.x) {
      uint4 raw = data[c];
      if (a.softcap > 0.f) {
#pragma unroll
        for (int j = 0; j < kChunk; ++j) SetChunkElement<T>(raw, j, Capped(ChunkElement<T>(raw, j), a.softcap));
        data[c] = raw;
      }
      if constexpr (kStaged) staged[c - first] = raw;
      float z[kChunk];
      float chunk_max = -INFINITY;
      int chunk_arg = 0;
#pragma unroll
      for (int j = 0; j < kChunk; ++j) {
        z[j] = ToFloat(ChunkElement<T>(raw, j)) * inv_t;
        if (z[j] > chunk_max) {
          chunk_max = z[j];
          chunk_arg = j;
        }
      }
      if (chunk_max > running.best) running.Raise(chunk_max, c * kChunk + chunk_arg);
      if (running.best != -INFINITY) {  // else every logit so far is -inf (no mass) or NaN
#pragma unroll
        for (int j = 0; j < kChunk; ++j) running.sum += __expf(z[j] - running.best);
      } else {
#pragma unroll
        for (int j = 0; j < kChunk; ++j) running.sum += z[j] == -INFINITY ? 0.f : z[j];  // NaN stays
      }
    }
    for (std::int64_t i = tail_from + threadIdx.x; i < vocab; i += blockDim.x) {
      const T v = a.softcap > 0.f ? Capped(logits[i], a.softcap) : logits[i];
      if (a.softcap > 0.f) logits[i] = v;
      running.Add(ToFloat(v) * inv_t, i);
    }
  }
  __threadfence();  // the capped logits are visible to every block from the next cluster barrier on
  const float best = running.best;
  const std::int64_t best_index = running.best_index;
  const float row_max = ClusterCombine(cluster, &slot, BlockMax(best, scratch), true);
  const float log_norm =
      row_max + logf(ClusterCombine(cluster, &slot, BlockSum(running.RelativeTo(row_max), scratch), false));

  std::int64_t token = -1;
  if (a.greedy) {
    if (best == row_max) atomicMax(chosen0, -static_cast<int>(best_index) - 1);
    cluster.sync();
    token = chosen0[0] == INT_MIN ? 0 : -static_cast<std::int64_t>(chosen0[0]) - 1;
  } else {
    const int me = static_cast<int>(rank * kThreads + threadIdx.x);
    const float u = a.uniforms[row * a.uniforms_stride + a.step];
    // This thread's mass above `pivot`, its start in the row's prefix order (block order, then
    // thread order) and the row's total; leaves starts[] and the round's claim slots ready.
    float mine = 0.f, begin_at = 0.f, total = 0.f;
    const auto weigh = [&](Key pivot, int parity) {
      mine = 0.f;
      for_each([&](std::int64_t, T v) {
        if (static_cast<Key>(K::Of(v)) > pivot) mine += __expf(ToFloat(v) * inv_t - log_norm);
      });
      float block_total;
      const float before_in_block = BlockExclusiveScan(mine, &block_total, scratch);
      if (threadIdx.x == 0) slot = block_total;
      cluster.sync();  // every block's total is written; every read of the other parity is done
      float offset = 0.f;
      total = 0.f;
      for (unsigned r = 0; r < kClusterBlocks; ++r) {
        const float t = *cluster.map_shared_rank(&slot, r);
        if (r < rank) offset += t;
        total += t;
      }
      begin_at = offset + before_in_block;
      starts[threadIdx.x] = begin_at;
      if (threadIdx.x == 0) starts[kThreads] = offset + block_total;
      if (rank == 0 && threadIdx.x == 0) {
        chosen[parity ^ 1] = INT_MIN;
        last_kept[parity ^ 1] = -1;
      }
    };
    // Draws a token above `pivot` with target u * total after weigh(pivot, parity): the thread
    // whose range holds the target walks its tokens to it.
    const auto draw = [&](Key pivot, int parity, float uniform) -> std::int64_t {
      if (mine > 0.f) atomicMax(&last_kept0[parity], me);
      __syncthreads();  // starts[] is complete
      cluster.sync();   // last_kept is final; every block has read the totals (slot is free)
      const float target = uniform * total;
      const bool in_range = mine > 0.f && begin_at <= target && target < starts[threadIdx.x + 1];
      // Rounding can leave the target outside every range: the last thread with mass takes it.
      const bool fallback = me == last_kept0[parity] && target >= begin_at + mine;
      if (in_range || fallback) {
        float acc = begin_at;
        int pick = -1, last_seen = -1;
        for_each([&](std::int64_t i, T v) {
          if (pick >= 0 || static_cast<Key>(K::Of(v)) <= pivot) return;
          last_seen = static_cast<int>(i);
          acc += __expf(ToFloat(v) * inv_t - log_norm);
          if (in_range && acc > target) pick = last_seen;
        });
        if (last_seen >= 0) atomicMax(&chosen0[parity], -(pick >= 0 ? pick : last_seen) - 1);
      }
      cluster.sync();  // the claim is final
      const int claim = chosen0[parity];
      return claim == INT_MIN ? -1 : -static_cast<std::int64_t>(claim) - 1;
    };

    Key pivot = -1;
    int round = 0;
    bool drawn = false;
    for (; rounds > 0; ++round) {
      weigh(pivot, round & 1);
      if (round > 0 && total < a.top_p) {  // the last draw ranks inside the kept set
        drawn = true;
        break;
      }
      if (round == rounds) break;  // rejected too often: search for the boundary
      token = draw(pivot, round & 1, RoundUniform(u, round));
      if (token < 0 || a.top_p >= 1.f) {  // nothing to draw (every logit NaN), or all kept
        drawn = true;
        break;
      }
      pivot = static_cast<Key>(K::Of(logits[token]));
    }
    if (!drawn) {
      // The boundary by search: the largest key whose mass {key >= k} reaches top_p. Invariant:
      // mass(lo) >= top_p > mass(hi) (hi may be past every key). Each pass weighs 7 candidate
      // keys that split [lo, hi) in eighths, so 16-bit keys take 6 passes.
      typename K::U lo = 0, hi = (typename K::U(1) << K::kBits);
      const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
      while (a.top_p < 1.f && hi - lo > 1) {
        const typename K::U span = hi - lo;
        typename K::U candidate[kCandidates];
        float mass[kCandidates];
#pragma unroll
        for (int m = 0; m < kCandidates; ++m) {
          candidate[m] = lo + span * (m + 1) / (kCandidates + 1);
          mass[m] = 0.f;
        }
        for_each([&](std::int64_t, T v) {
          const typename K::U key = K::Of(v);
          if (key < candidate[0]) return;
          const float p = __expf(ToFloat(v) * inv_t - log_norm);
#pragma unroll
          for (int m = 0; m < kCandidates; ++m) mass[m] += key >= candidate[m] ? p : 0.f;
        });
#pragma unroll
        for (int m = 0; m < kCandidates; ++m) {
          const float w = WarpSum(mass[m]);
          if (lane == 0) partial[m][warp] = w;
        }
        __syncthreads();
        if (threadIdx.x < kCandidates) {
          float sum = 0.f;
          for (int w = 0; w < kWarpsPerBlock; ++w) sum += partial[threadIdx.x][w];
          block_mass[threadIdx.x] = sum;
        }
        cluster.sync();  // every block's masses are written
        typename K::U next_lo = lo, next_hi = candidate[0];
        for (int m = kCandidates - 1; m >= 0; --m) {
          float sum = 0.f;
          for (unsigned r = 0; r < kClusterBlocks; ++r) sum += cluster.map_shared_rank(block_mass, r)[m];
          if (sum >= a.top_p) {
            next_lo = candidate[m];
            next_hi = m + 1 < kCandidates ? candidate[m + 1] : hi;
            break;
          }
        }
        lo = next_lo;
        hi = next_hi;
        cluster.sync();  // every block has read the masses before the next pass writes them
      }
      pivot = static_cast<Key>(lo) - 1;
      weigh(pivot, round & 1);
      token = draw(pivot, round & 1, RoundUniform(u, round));
    }
    if (token < 0) token = 0;  // nothing claimed only when every logit is NaN: report the first token
  }
  // No block may exit while another can still read its shared memory (the last reads of `slot`
  // and of rank 0's claim slots).
  cluster.sync();
  if (rank != 0 || threadIdx.x != 0) return;
  const std::int64_t out_at = a.row_index[row] * a.out_stride + a.step;
  a.out_tokens[out_at] = token;
  a.out_logprobs[out_at] = ToFloat(logits[token]) * inv_t - log_norm;
  a.next_ids[row] = token;
  bool stop = false;
  for (int s = 0; s < a.num_stop_ids; ++s) stop |= a.stop_ids[s] == token;
  if (stop) a.finished[row] = true;
}

// Shared memory for a block's part of a row in the staged cluster kernel.
std::size_t StagedBytes(std::int64_t vocab, std::size_t element) {
  const std::int64_t chunks = vocab * static_cast<std::int64_t>(element) / 16;
  return static_cast<std::size_t>((chunks + kClusterBlocks - 1) / kClusterBlocks) * 16;
}

// Block sizes of the cluster kernel. A staged block holds an eighth of a row in shared memory,
// so at most three fit on a multiprocessor whatever their size. Unstaged blocks take 256
// threads: on one H200 at 64 rows that left room for 62 of the 64 clusters at once, yet
// 128-thread blocks (all 64 resident) were slower, their threads' serial share of the row and of
// the draw's walk being twice as long (bench/results/h200-sampler-rejection.md).
constexpr int kStagedThreads = 512;
constexpr int kUnstagedThreads = 256;

// The staged kernel with `bytes` of shared memory, when the device allows that much (its limit
// raised once per type to the most a block may have, less room for its own arrays).
template <typename T>
bool LaunchStaged(const SampleArgs& args, std::size_t bytes, int rounds, cudaStream_t stream) {
  static const int limit = [] {
    int device = 0, most = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&most, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
      return 0;
    }
    most -= 8 * 1024;
    return cudaFuncSetAttribute(SampleClusterKernel<T, true, kStagedThreads>,
                                cudaFuncAttributeMaxDynamicSharedMemorySize, most) == cudaSuccess
               ? most
               : 0;
  }();
  if (bytes > static_cast<std::size_t>(limit)) return false;
  SampleClusterKernel<T, true, kStagedThreads>
      <<<dim3(args.rows * kClusterBlocks), kStagedThreads, bytes, stream>>>(args, rounds);
  return true;
}

// The cluster kernel for T: staged when asked for and its part of a row fits in shared memory.
template <typename T>
void LaunchCluster(const SampleArgs& args, bool staged, std::size_t bytes, int rounds, cudaStream_t stream) {
  if (staged && LaunchStaged<T>(args, bytes, rounds, stream)) return;
  SampleClusterKernel<T, false, kUnstagedThreads>
      <<<dim3(args.rows * kClusterBlocks), kUnstagedThreads, 0, stream>>>(args, rounds);
}

// GSPO_SAMPLER_STAGED=1 has the cluster kernel keep its part of the row in shared memory (512
// threads per block, two waves on the 2b shape) instead of reading it from L2 on every pass (the
// default), read once.
bool StagedSamplingEnabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("GSPO_SAMPLER_STAGED");
    return value != nullptr && std::string_view(value) == "1";
  }();
  return enabled;
}

// Rejection rounds before the cluster kernel falls back to searching for the top-p boundary:
// GSPO_SAMPLER_REJECTION_ROUNDS (0: always search, to compare), 4 by default, read once.
int SamplerRejectionRounds() {
  static const int rounds = [] {
    const char* value = std::getenv("GSPO_SAMPLER_REJECTION_ROUNDS");
    if (value == nullptr || *value == '\0') return 4;
    const int parsed = std::atoi(value);
    return parsed < 0 ? 0 : (parsed > 64 ? 64 : parsed);
  }();
  return rounds;
}

// GSPO_SAMPLER_CLUSTERS=0 keeps one block per row (to compare), read once.
bool ClusterSamplingEnabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("GSPO_SAMPLER_CLUSTERS");
    return value == nullptr || std::string_view(value) != "0";
  }();
  return enabled;
}

}  // namespace

cudaError_t SampleTopP(DType dtype, const SampleArgs& args, cudaStream_t stream) {
  if (args.rows == 0) return cudaSuccess;
  if (args.vocab >= (std::int64_t{1} << 31)) return cudaErrorNotSupported;
  const std::size_t element = dtype == DType::kBFloat16 ? 2 : 4;
  const bool aligned = reinterpret_cast<std::uintptr_t>(args.logits) % 16 == 0 &&
                       (args.logits_stride * static_cast<std::int64_t>(element)) % 16 == 0;
  if (aligned && ClusterSamplingEnabled()) {
    const bool staged = StagedSamplingEnabled();
    const std::size_t bytes = StagedBytes(args.vocab, element);
    if (dtype == DType::kBFloat16) {
      LaunchCluster<__nv_bfloat16>(args, staged, bytes, SamplerRejectionRounds(), stream);
    } else {
      LaunchCluster<float>(args, staged, bytes, SamplerRejectionRounds(), stream);
    }
    return cudaGetLastError();
  }
  if (dtype == DType::kBFloat16) {
    SampleKernel<__nv_bfloat16><<<args.rows, kThreads, 0, stream>>>(args);
  } else {
    SampleKernel<float><<<args.rows, kThreads, 0, stream>>>(args);
  }
  return cudaGetLastError();
}

}  // namespace gspo::engine::kernels
