// Decode attention on tensor cores (bf16, head_dim 64 / 128 / 256, up to 8 query heads per kv
// head): the same contract and output layout as decode_attention.cu, which launches it.
//
// The CUDA-core kernel spends its time on shuffles that reduce dot products across lanes; here
// the products run as mma.sync m16n8k16 tiles and no reduction crosses lanes except the softmax
// max and sum over 4 lanes. One block per (kv head, row, key chunk); its 4 warps take tiles of
// 16 consecutive key slots in turn and keep an online softmax each, merged in warp order at the
// end (reproducible, as the other kernel).
//
// Per tile of 16 keys a warp computes
//   S   [heads x keys] = Q [heads x D] . K^T           (m: heads padded to 16, n: 8 keys, k: D)
//   O^T [D x heads]   += V^T [D x keys] . P^T           (m: 16 dims, n: heads padded to 8, k: keys)
// The score accumulator of the first product is, lane for lane, the B operand of the second, so
// the probabilities never leave their registers. Summation over the head dimension and over the
// keys does not depend on which dimension or key sits in which mma slot, so each lane's slots
// are mapped to contiguous memory: a lane reads 16-byte vectors of its own key and value rows.
//
// Every lane loads its fragments straight from the cache into registers, all of a tile's loads
// before any use. Measured register-bound: 2 blocks of 4 warps per multiprocessor, each warp
// waiting on its own loads; staging tiles in shared memory (cp.async, then bulk copies) measured
// slower on the H200 (bench/results/h200-attention-merge.md).
#include "worker/engine/kernels/decode_attention_mma.h"

#include <cmath>
#include <type_traits>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kMmaWarps = 4;
constexpr int kTileKeys = 16;
constexpr int kMaxGroup = 8;  // query heads per kv head: the n extent of the second product

// c += a . b on one m16n8k16 tile: bf16 operands, float32 accumulators.
__device__ __forceinline__ void Mma(float (&c)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0,
                                    unsigned b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
  __trap();  // the launcher checks the device before choosing this kernel
#endif
}

__device__ __forceinline__ unsigned PackBf16(float lo, float hi) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const unsigned*>(&pair);
}

// One 16-byte chunk (4 words) from an aligned address, or zeros when `load` is false.
__device__ __forceinline__ void LoadChunk(unsigned* out, const void* p, bool load) {
  uint4 v = make_uint4(0, 0, 0, 0);
  if (load) v = *reinterpret_cast<const uint4*>(p);
  out[0] = v.x;
  out[1] = v.y;
  out[2] = v.z;
  out[3] = v.w;
}

// Lane (g = lane / 4, t = lane % 4) in the mma fragments. A lane's words are numbered in
// 16-byte chunks of 4 words; the chunks are laid out so that each load instruction of a warp
// reads whole 32-byte sectors (4 lanes x 16 contiguous bytes of a key row, or 8 x 16 of a value
// row).
//   S (first product's accumulator): head g, keys 2t, 2t+1 of each 8-key half of the tile.
//   K (its B operand): key g of each half; chunk c holds dims 32c + 8t .. + 8; k-step s takes
//     words 2s and 2s + 1 (chunk s / 2).
//   Q (its A operand, rows g < group real, rows g+8 padding): the same dims of head g.
//   V (second product's A operand): keys 2t, 2t+1, 2t+8, 2t+9; chunk c holds dims 64c + 8g ..
//     + 8; m-tile i takes word i, whose low half is dim ValueDim(i, g) (row g) and high half the
//     next dim (row g+8).
//   O^T (its accumulator): for m-tile i, dim ValueDim(i, g) (c0, c1) and the next (c2, c3),
//     heads 2t (c0, c2) and 2t + 1 (c1, c3).
__device__ __forceinline__ int KeyDim(int s, int t) { return 32 * (s / 2) + 8 * t + 4 * (s % 2); }
__device__ __forceinline__ int ValueDim(int i, int g) { return 64 * (i / 4) + 8 * g + 2 * (i % 4); }

// One warp's online softmax over its tiles: per lane, head g's running max and sum (over this
// lane's keys only), whether an allowed key scored NaN, and its O^T fragments.
template <int D>
struct WarpAttention {
  static constexpr int kSteps = D / 16;       // k-steps of the first product = m-tiles of the second
  static constexpr int kKeyWords = D / 8;     // words of a key row per lane (D / 4 dims)
  static constexpr int kValueWords = D / 16;  // words of a value row per lane (D / 8 dims)
  float running_max = -INFINITY, running_sum = 0.f;
  bool poisoned = false;  // an allowed key scored NaN: the head's output turns NaN, as in the reference
  float acc[kSteps][4] = {};

  // Adds one tile: the lane's key and value fragments (layout above) and whether each of its
  // keys 2t, 2t+1, 2t+8, 2t+9 takes part. Masked keys' values are zeroed here.
  __device__ __forceinline__ void Attend(const uint2 (*q_fragments)[32], unsigned (&key_words)[2][kKeyWords],
                                         unsigned (&value_words)[4][kValueWords], const bool (&allowed)[4],
                                         float scale, float softcap, int lane, int t) {
    // Two accumulators per half: dependent mma chains half as long.
    float scores[2][2][4] = {};
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      const uint2 qa = q_fragments[s][lane];
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        Mma(scores[half][s & 1], qa.x, 0u, qa.y, 0u, key_words[half][2 * s], key_words[half][2 * s + 1]);
      }
    }

    // Online softmax of head g over the tile: this lane's four scores, then the max over the
    // four lanes of the head.
    float x[4] = {scores[0][0][0] + scores[0][1][0], scores[0][0][1] + scores[0][1][1],
                  scores[1][0][0] + scores[1][1][0], scores[1][0][1] + scores[1][1][1]};
    float tile_max = -INFINITY;
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      float score = x[u] * scale;
      if (softcap > 0.f) score = softcap * tanhf(score / softcap);
      poisoned |= allowed[u] && isnan(score);
      x[u] = allowed[u] ? score : -INFINITY;
      tile_max = fmaxf(tile_max, x[u]);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
    const float new_max = fmaxf(running_max, tile_max);
    float correction = 1.f, p[4] = {0.f, 0.f, 0.f, 0.f};
    if (new_max != -INFINITY) {
      correction = __expf(running_max - new_max);
#pragma unroll
      for (int u = 0; u < 4; ++u) p[u] = allowed[u] ? __expf(x[u] - new_max) : 0.f;
    }
    running_sum = running_sum * correction + ((p[0] + p[1]) + (p[2] + p[3]));
    running_max = new_max;

    // Unwritten or masked slots may hold anything, NaN included: their values are zeroed (a
    // zero weight times NaN would still poison the sum). Most tiles have none.
    if (!__all_sync(0xffffffffu, allowed[0] && allowed[1] && allowed[2] && allowed[3])) {
#pragma unroll
      for (int u = 0; u < 4; ++u) {
#pragma unroll
        for (int w = 0; w < kValueWords; ++w) value_words[u][w] = allowed[u] ? value_words[u][w] : 0u;
      }
    }
    // Rescale O^T's columns (heads 2t, 2t+1) by their heads' corrections when a max moved,
    // then add V^T P^T.
    if (!__all_sync(0xffffffffu, correction == 1.f)) {
      const float correction_even = __shfl_sync(0xffffffffu, correction, 8 * t);
      const float correction_odd = __shfl_sync(0xffffffffu, correction, 8 * t + 4);
#pragma unroll
      for (int i = 0; i < kSteps; ++i) {
        acc[i][0] *= correction_even;
        acc[i][1] *= correction_odd;
        acc[i][2] *= correction_even;
        acc[i][3] *= correction_odd;
      }
    }
    const unsigned pb0 = PackBf16(p[0], p[1]), pb1 = PackBf16(p[2], p[3]);
#pragma unroll
    for (int i = 0; i < kSteps; ++i) {
      const unsigned a0 = __byte_perm(value_words[0][i], value_words[1][i], 0x5410);
      const unsigned a1 = __byte_perm(value_words[0][i], value_words[1][i], 0x7632);
      const unsigned a2 = __byte_perm(value_words[2][i], value_words[3][i], 0x5410);
      const unsigned a3 = __byte_perm(value_words[2][i], value_words[3][i], 0x7632);
      Mma(acc[i], a0, a1, a2, a3, pb0, pb1);
    }
  }
};

// The tile-relative key (0..15) of a lane's u-th value row / score column.
__device__ __forceinline__ int LaneKey(int u, int t) { return 2 * t + (u & 1) + 8 * (u >> 1); }

// Q fragments in the order lanes read them (one conflict-free 8-byte read per k-step), zero for
// the padding heads. Synchronises the block.
template <int D>
__device__ __forceinline__ void LoadQueryFragments(const DecodeAttentionArgs& a, int kv_head, int row, int group,
                                                   uint2 (*q_fragments)[32]) {
  const __nv_bfloat16* q =
      static_cast<const __nv_bfloat16*>(a.q) + (static_cast<std::int64_t>(row) * a.heads + kv_head * group) * D;
  for (int i = threadIdx.x; i < (D / 16) * 32; i += blockDim.x) {
    const int s = i / 32, l = i % 32, head = l >> 2;
    uint2 value = make_uint2(0, 0);
    if (head < group) value = *reinterpret_cast<const uint2*>(q + head * D + KeyDim(s, l & 3));
    q_fragments[s][l] = value;
  }
  __syncthreads();
}

// The block's warps merged in warp order (reproducible): the block-wide max per head; each
// warp's values, rescaled to it, side by side in `partial` (shared memory for kWarps x kMaxGroup
// x D floats, used as [warp][head < group][D]); then each thread adds a few outputs over the
// warps, in warp order, and writes the output (one chunk: normalised, in T) or this chunk's
// partial state. The warps write at once: no warp waits for another's additions.
template <int D, int kWarps>
__device__ __forceinline__ void FinishBlock(WarpAttention<D>& w, const DecodeAttentionArgs& a, int kv_head, int row,
                                            int split, int group, float* partial) {
  using T = __nv_bfloat16;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  // The head's sum over its four lanes.
  float running_sum = w.running_sum;
  running_sum += __shfl_xor_sync(0xffffffffu, running_sum, 1);
  running_sum += __shfl_xor_sync(0xffffffffu, running_sum, 2);
  int head_poisoned = w.poisoned;
  head_poisoned |= __shfl_xor_sync(0xffffffffu, head_poisoned, 1);
  head_poisoned |= __shfl_xor_sync(0xffffffffu, head_poisoned, 2);
  if (head_poisoned) running_sum = NAN;
  __shared__ float warp_max[kWarps][kMaxGroup], warp_sum[kWarps][kMaxGroup];
  __shared__ float warp_scale[kWarps][kMaxGroup], head_max[kMaxGroup], head_sum[kMaxGroup];
  if (t == 0) {
    warp_max[warp][g] = w.running_max;
    warp_sum[warp][g] = running_sum;
  }
  __syncthreads();
  if (threadIdx.x < kMaxGroup) {
    const int head = threadIdx.x;
    float m = -INFINITY, total = 0.f;
    for (int v = 0; v < kWarps; ++v) m = fmaxf(m, warp_max[v][head]);
    for (int v = 0; v < kWarps; ++v) {
      warp_scale[v][head] = warp_max[v][head] == -INFINITY ? 0.f : __expf(warp_max[v][head] - m);
      total += warp_sum[v][head] * warp_scale[v][head];
    }
    head_max[head] = m;
    head_sum[head] = total;
  }
  __syncthreads();
  // Lane (g, t) holds heads 2t (acc[i][0], acc[i][2]) and 2t + 1 (acc[i][1], acc[i][3]) at dims
  // ValueDim(i, g) and the next: one 8-byte store per head and m-tile.
  float* mine = partial + warp * group * D;
#pragma unroll
  for (int odd = 0; odd < 2; ++odd) {
    const int head = 2 * t + odd;
    if (head < group) {
      const float scale = warp_scale[warp][head];
#pragma unroll
      for (int i = 0; i < WarpAttention<D>::kSteps; ++i) {
        *reinterpret_cast<float2*>(mine + head * D + ValueDim(i, g)) =
            make_float2(w.acc[i][odd] * scale, w.acc[i][2 + odd] * scale);
      }
    }
  }
  __syncthreads();
  const auto merged = [&](int head, int dim) {
    float sum = 0.f;
    for (int v = 0; v < kWarps; ++v) sum += partial[(v * group + head) * D + dim];
    return sum;
  };
  if (gridDim.z > 1) {
    // This chunk's state per head, as the CUDA-core kernel writes it: [max, sum, values].
    for (int i = threadIdx.x; i < group * (D + 2); i += blockDim.x) {
      const int head = i / (D + 2), e = i % (D + 2);
      const float value = e == 0 ? head_max[head] : e == 1 ? head_sum[head] : merged(head, e - 2);
      const std::int64_t out_head = static_cast<std::int64_t>(row) * a.heads + kv_head * group + head;
      a.partials[(out_head * gridDim.z + split) * (D + 2) + e] = value;
    }
    return;
  }
  T* out = static_cast<T*>(a.out) + (static_cast<std::int64_t>(row) * a.heads + kv_head * group) * D;
  for (int i = threadIdx.x; i < group * D; i += blockDim.x) {
    const float total = head_sum[i / D];
    out[i] = FromFloat<T>(total != 0.f ? merged(i / D, i % D) / total : 0.f);  // NaN stays NaN
  }
}

template <int D>
__global__ void __launch_bounds__(kMmaWarps * 32, 2) DecodeAttentionMmaKernel(DecodeAttentionArgs a) {
  using State = WarpAttention<D>;
  using T = __nv_bfloat16;
  const int kv_head = blockIdx.x, row = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int group = a.heads / a.kv_heads;
  const AttentionBlock<T> block(a, kv_head, row, split, D);
  const int last = static_cast<int>(block.end);  // slot counts fit in int
  __shared__ uint2 q_fragments[State::kSteps][32];
  LoadQueryFragments<D>(a, kv_head, row, group, q_fragments);

  State state;
  const T* k_rows = block.k_rows;
  const T* v_rows = block.v_rows;
  const auto tile = [&](int base, auto full) {
    constexpr bool kFull = decltype(full)::value;  // all 16 slots below `end`: no bounds checks
    // Every load of the tile is issued before any result is used (the masks do not gate them).
    unsigned key_words[2][State::kKeyWords], value_words[4][State::kValueWords];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int s = base + 8 * half + g;
      const bool in = kFull || s < last;
      const T* k_row = k_rows + (in ? block.RowOffset(s, D) : 0) + 8 * t;
#pragma unroll
      for (int c = 0; c < State::kKeyWords / 4; ++c) LoadChunk(&key_words[half][4 * c], k_row + 32 * c, in);
    }
    bool allowed[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int s = base + LaneKey(u, t);
      const bool in = kFull || s < last;
      const T* v_row = v_rows + (in ? block.RowOffset(s, D) : 0) + 8 * g;
#pragma unroll
      for (int c = 0; c < State::kValueWords / 4; ++c) LoadChunk(&value_words[u][4 * c], v_row + 64 * c, in);
      allowed[u] = in && block.Allowed(s, a.window);
    }
    state.Attend(q_fragments, key_words, value_words, allowed, a.scale, a.softcap, lane, t);
  };
  for (int base = static_cast<int>(block.begin) + warp * kTileKeys; base < last; base += kMmaWarps * kTileKeys) {
    if (base + kTileKeys <= last) {
      tile(base, std::true_type{});
    } else {
      tile(base, std::false_type{});
    }
  }
  __shared__ float partial[kMmaWarps * kMaxGroup * D];
  FinishBlock<D, kMmaWarps>(state, a, kv_head, row, split, group, partial);
}

}  // namespace

bool DecodeAttentionMmaSupports(DType dtype, int heads, int kv_heads, int head_dim) {
  if (dtype != DType::kBFloat16 || kv_heads <= 0 || heads % kv_heads != 0) return false;
  const int group = heads / kv_heads;
  if (group < 1 || group > kMaxGroup || (head_dim != 64 && head_dim != 128 && head_dim != 256)) return false;
  // mma.sync on bf16 needs compute capability 8.0; the devices of one process are alike.
  static const bool capable = [] {
    int device = 0, major = 0;
    return cudaGetDevice(&device) == cudaSuccess &&
           cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess && major >= 8;
  }();
  return capable;
}

cudaError_t LaunchDecodeAttentionMma(const DecodeAttentionArgs& a, cudaStream_t stream) {
  const dim3 grid(a.kv_heads, a.rows, a.chunks);
  const int threads = kMmaWarps * 32;
  switch (a.head_dim) {
    case 64: DecodeAttentionMmaKernel<64><<<grid, threads, 0, stream>>>(a); break;
    case 128: DecodeAttentionMmaKernel<128><<<grid, threads, 0, stream>>>(a); break;
    case 256: DecodeAttentionMmaKernel<256><<<grid, threads, 0, stream>>>(a); break;
    default: return cudaErrorNotSupported;
  }
  return cudaGetLastError();
}

}  // namespace gspo::engine::kernels
