// Decode attention: one query per row against that row's cache (decode_kernels.h).
//
// One block per (kv head, row, key chunk) computes the R = H / K query heads that share the kv
// head, so each key and value row is read once for all of them. With one chunk the block writes
// the output; with several (split-K: more blocks in flight when rows x kv heads would leave
// multiprocessors idle) each block writes its chunk's softmax state (max, sum, weighted values)
// and a second kernel merges the chunks in chunk order. The 8 warps take turns over rounds of U consecutive keys;
// a key row of D elements is read by the warp's 32 lanes together (D / 32 contiguous elements
// each for D = 64, 128, 256; any other D up to 256 takes a generic variant where lane l holds
// elements l, l + 32, ...), a round's U x R dot products are reduced and scattered across the
// warp so that each lane finishes one key's score, and each warp keeps an online softmax
// (running max, sum, weighted values) per query head. The warps' partial results are merged in
// warp order, so the output does not depend on scheduling. bf16 caches of the common head
// dimensions go to the tensor-core variant instead (decode_attention_mma.cu) unless the caller
// turns it off; its split-K chunks are merged by the same second kernel.
#include <cmath>
#include <type_traits>

#include "worker/engine/kernels/decode_attention_mma.h"
#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kWarps = 8;

// EPL contiguous elements of T, loaded with the widest aligned accesses and kept as loaded
// (converted on use), so many key rows fit in registers at once.
template <typename T, int EPL>
struct Fragment {
  static constexpr int kBytes = EPL * sizeof(T);
  static constexpr int kWords = (kBytes + 3) / 4;
  unsigned int raw[kWords];

  __device__ __forceinline__ void Load(const T* p) {
    if constexpr (kBytes % 16 == 0) {
#pragma unroll
      for (int c = 0; c < kBytes / 16; ++c) {
        const uint4 chunk = reinterpret_cast<const uint4*>(p)[c];
        raw[4 * c] = chunk.x;
        raw[4 * c + 1] = chunk.y;
        raw[4 * c + 2] = chunk.z;
        raw[4 * c + 3] = chunk.w;
      }
    } else if constexpr (kBytes == 8) {
      const uint2 chunk = *reinterpret_cast<const uint2*>(p);
      raw[0] = chunk.x;
      raw[1] = chunk.y;
    } else {
#pragma unroll
      for (int j = 0; j < EPL; ++j) reinterpret_cast<T*>(raw)[j] = p[j];
    }
  }
  __device__ __forceinline__ float Get(int j) const { return ToFloat(reinterpret_cast<const T*>(raw)[j]); }
};

// The generic layout: element j of lane l is l + 32 j, zero past the head dimension.
template <typename T>
struct StridedFragment {
  static constexpr int kMaxElements = 8;
  float v[kMaxElements];

  __device__ __forceinline__ void Load(const T* row, int lane, int dim) {
#pragma unroll
    for (int j = 0; j < kMaxElements; ++j) {
      const int e = lane + 32 * j;
      v[j] = e < dim ? ToFloat(row[e]) : 0.f;
    }
  }
  __device__ __forceinline__ float Get(int j) const { return v[j]; }
};

// Sums U per-lane values (one per key) over the warp and scatters the totals: halving steps
// (offsets 16, 8, ...) leave lane l with the partial sums of key l / (32 / U) over the lanes
// that share its high bits; the remaining offsets complete them. Fixed order: reproducible.
template <int U>
__device__ __forceinline__ float ReduceScatterSum(float (&v)[U], int lane) {
#pragma unroll
  for (int n = U, offset = 16; n > 1; n >>= 1, offset >>= 1) {
    const bool upper = (lane & offset) != 0;
#pragma unroll
    for (int i = 0; i < n / 2; ++i) {
      const float send = upper ? v[i] : v[i + n / 2];
      const float keep = upper ? v[i + n / 2] : v[i];
      v[i] = keep + __shfl_xor_sync(0xffffffffu, send, offset);
    }
  }
  float sum = v[0];
#pragma unroll
  for (int offset = 16 / U; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  return sum;
}

// The max / sum over the keys of a round after ReduceScatterSum: over lanes kKeyLanes apart.
template <int kKeyLanes>
__device__ __forceinline__ float MaxOverKeys(float value) {
#pragma unroll
  for (int offset = kKeyLanes; offset < 32; offset <<= 1) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}
template <int kKeyLanes>
__device__ __forceinline__ float SumOverKeys(float value) {
#pragma unroll
  for (int offset = kKeyLanes; offset < 32; offset <<= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// D = 0: the generic variant (runtime head_dim up to 256).
// Keys per warp round when DecodeAttentionArgs::keys_per_round does not choose: as many as fit
// the registers without spilling (checked with -Xptxas -v for the compiled variants).
template <typename T, int D, int R>
constexpr int DefaultKeysPerRound() {
  if (D == 0) return 2;
  if (R <= 2) return D == 256 ? 4 : (sizeof(T) == 2 ? 8 : 4);
  return R <= 4 ? 4 : 2;
}

// U: keys per warp round (a power of two up to 32).
template <typename T, int D, int R, int U>
__global__ void __launch_bounds__(kWarps * 32, R <= 2 ? 2 : 1) DecodeAttentionKernel(DecodeAttentionArgs a) {
  constexpr bool kGeneric = D == 0;
  constexpr int EPL = kGeneric ? StridedFragment<T>::kMaxElements : D / 32;
  using Frag = typename std::conditional<kGeneric, StridedFragment<T>, Fragment<T, (kGeneric ? 1 : EPL)>>::type;
  const int dim = kGeneric ? a.head_dim : D;
  // Where lane `lane`'s element j lives in a row of the head.
  const auto element = [](int lane, int j) { return kGeneric ? lane + 32 * j : lane * EPL + j; };
  const int kv_head = blockIdx.x, row = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const AttentionBlock<T> block(a, kv_head, row, split, dim);
  const std::int64_t begin = block.begin, end = block.end;
  const auto load = [&](Frag& f, const T* head_row) {
    if constexpr (kGeneric) {
      f.Load(head_row, lane, dim);
    } else {
      f.Load(head_row + lane * EPL);
    }
  };

  float q[R][EPL];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    Frag f;
    load(f, static_cast<const T*>(a.q) + (static_cast<std::int64_t>(row) * a.heads + kv_head * R + r) * dim);
#pragma unroll
    for (int j = 0; j < EPL; ++j) q[r][j] = f.Get(j);
  }
  float running_max[R], running_sum[R], acc[R][EPL];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    running_max[r] = -INFINITY;
    running_sum[r] = 0.f;
#pragma unroll
    for (int j = 0; j < EPL; ++j) acc[r][j] = 0.f;
  }

  // Each warp takes U consecutive keys per round and issues all their loads before using any,
  // so U key rows per warp are in flight (one at a time leaves the loop waiting on latency).
  for (std::int64_t base = begin + static_cast<std::int64_t>(warp) * U; base < end; base += kWarps * U) {
    bool allowed[U];
    Frag k[U], v[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const std::int64_t s = base + u;
      if (s >= end) {
        allowed[u] = false;
        continue;
      }
      allowed[u] = block.Allowed(s, a.window);
      load(k[u], block.k_rows + block.RowOffset(s, dim));
      load(v[u], block.v_rows + block.RowOffset(s, dim));
    }
    // Per head: the round's U dot products are reduced and scattered across the warp at once
    // (lane l ends with key l / (32 / U)'s score: U - 1 + log2(32 / U) shuffles instead of 5 U),
    // so each lane caps and exponentiates one score, not all U; the round's max and weight sum
    // are reduced over the lanes that hold different keys and the weights broadcast for V.
    constexpr int kKeyLanes = 32 / U;
    const int my_key = lane / kKeyLanes;
    bool my_allowed = false;
#pragma unroll
    for (int u = 0; u < U; ++u) my_allowed = u == my_key ? allowed[u] : my_allowed;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      float dots[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        float dot = 0.f;
#pragma unroll
        for (int j = 0; j < EPL; ++j) dot += q[r][j] * k[u].Get(j);
        dots[u] = dot;
      }
      float score = ReduceScatterSum<U>(dots, lane) * a.scale;
      if (a.softcap > 0.f) score = a.softcap * tanhf(score / a.softcap);
      const float round_max = fmaxf(running_max[r], MaxOverKeys<kKeyLanes>(my_allowed ? score : -INFINITY));
      if (round_max == -INFINITY) {  // no allowed key yet, or only NaN scores (the maxima skip NaN)
        // A NaN score of an allowed key turns the head's output NaN, as in the reference ops; a
        // NaN sum stays NaN through every later rescaling.
        if (__any_sync(0xffffffffu, my_allowed && isnan(score))) running_sum[r] = NAN;
        continue;
      }
      const float correction = __expf(running_max[r] - round_max);
      const float weight = my_allowed ? __expf(score - round_max) : 0.f;
      running_sum[r] = running_sum[r] * correction + SumOverKeys<kKeyLanes>(weight);
#pragma unroll
      for (int j = 0; j < EPL; ++j) acc[r][j] *= correction;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const float w = __shfl_sync(0xffffffffu, weight, u * kKeyLanes);
        if (!allowed[u]) continue;  // the same for the whole warp; skips unloaded rows
#pragma unroll
        for (int j = 0; j < EPL; ++j) acc[r][j] += w * v[u].Get(j);
      }
      running_max[r] = round_max;
    }
  }

  // Merge the warps: the block-wide max per head, then each warp's rescaled sums added in
  // warp order.
  __shared__ float warp_max[kWarps][R], warp_sum[kWarps][R];
  __shared__ float merged[R][kGeneric ? 256 : D];
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < R; ++r) warp_max[warp][r] = running_max[r];
  }
  for (int i = threadIdx.x; i < R * dim; i += blockDim.x) merged[i / dim][i % dim] = 0.f;
  __syncthreads();
  float scale_of_warp[R], block_max[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    block_max[r] = -INFINITY;
    for (int w = 0; w < kWarps; ++w) block_max[r] = fmaxf(block_max[r], warp_max[w][r]);
    scale_of_warp[r] = running_max[r] == -INFINITY ? 0.f : __expf(running_max[r] - block_max[r]);
  }
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < R; ++r) warp_sum[warp][r] = running_sum[r] * scale_of_warp[r];
  }
  for (int w = 0; w < kWarps; ++w) {
    if (warp == w) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int j = 0; j < EPL; ++j) {
          if (element(lane, j) < dim) merged[r][element(lane, j)] += acc[r][j] * scale_of_warp[r];
        }
      }
    }
    __syncthreads();
  }
  if (gridDim.z > 1) {
    // This chunk's state per head: [max, sum, weighted values relative to max]; an empty chunk
    // (past the written slots) writes max -inf and zeros.
    for (int i = threadIdx.x; i < R * (dim + 2); i += blockDim.x) {
      const int r = i / (dim + 2), e = i % (dim + 2);
      float value;
      if (e == 0) {
        value = block_max[r];
      } else if (e == 1) {
        value = 0.f;
        for (int w = 0; w < kWarps; ++w) value += warp_sum[w][r];
      } else {
        value = merged[r][e - 2];
      }
      const std::int64_t head = static_cast<std::int64_t>(row) * a.heads + kv_head * R + r;
      a.partials[(head * gridDim.z + split) * (dim + 2) + e] = value;
    }
    return;
  }
  T* out = static_cast<T*>(a.out) + (static_cast<std::int64_t>(row) * a.heads + kv_head * R) * dim;
  for (int i = threadIdx.x; i < R * dim; i += blockDim.x) {
    const int r = i / dim;
    float total = 0.f;
    for (int w = 0; w < kWarps; ++w) total += warp_sum[w][r];
    // No allowed key (never in decode: the step's own key is written first) gives zeros; a NaN
    // sum stays NaN.
    out[i] = FromFloat<T>(total != 0.f ? merged[r][i % dim] / total : 0.f);
  }
}

// Merges the chunks of one (row, head) in chunk order: out = sum_s e^(m_s - M) acc_s / sum_s
// e^(m_s - M) l_s with M the largest chunk max. One block per (row, head), a thread per element.
template <typename T>
__global__ void MergeChunksKernel(const float* partials, int chunks, int dim, T* out) {
  const std::int64_t head = static_cast<std::int64_t>(blockIdx.y) * gridDim.x + blockIdx.x;
  const float* p = partials + head * chunks * (dim + 2);
  float top = -INFINITY;
  for (int s = 0; s < chunks; ++s) top = fmaxf(top, p[s * (dim + 2)]);
  for (int e = threadIdx.x; e < dim; e += blockDim.x) {
    float total = 0.f, value = 0.f;
    for (int s = 0; s < chunks; ++s) {
      const float m = p[s * (dim + 2)];
      if (m == -INFINITY && p[s * (dim + 2) + 1] == 0.f) continue;  // an empty chunk; a NaN sum counts
      const float w = __expf(m - top);
      total += w * p[s * (dim + 2) + 1];
      value += w * p[s * (dim + 2) + 2 + e];
    }
    out[head * dim + e] = FromFloat<T>(total != 0.f ? value / total : 0.f);
  }
}

// The kernel for R query heads per kv head, with a.keys_per_round keys per warp round when it
// is 2, 4 or 8 and R <= 2 (the measured choices), else the default.
template <typename T, int D, int R>
void LaunchKernel(const DecodeAttentionArgs& a, cudaStream_t stream) {
  const dim3 grid(a.kv_heads, a.rows, a.chunks);
  const int threads = kWarps * 32;
  if constexpr (R <= 2 && D != 0) {
    switch (a.keys_per_round) {
      case 2: DecodeAttentionKernel<T, D, R, 2><<<grid, threads, 0, stream>>>(a); return;
      case 4: DecodeAttentionKernel<T, D, R, 4><<<grid, threads, 0, stream>>>(a); return;
      case 8: DecodeAttentionKernel<T, D, R, 8><<<grid, threads, 0, stream>>>(a); return;
      default: break;
    }
  }
  DecodeAttentionKernel<T, D, R, DefaultKeysPerRound<T, D, R>()><<<grid, threads, 0, stream>>>(a);
}

// After a split-K launch (a.chunks > 1): the chunks' partial states merged into a.out.
template <typename T>
cudaError_t MergeChunks(const DecodeAttentionArgs& a, cudaStream_t stream) {
  if (a.chunks > 1) {
    const cudaError_t launched = cudaGetLastError();
    if (launched != cudaSuccess) return launched;
    MergeChunksKernel<T><<<dim3(a.heads, a.rows), a.head_dim <= 128 ? 128 : 256, 0, stream>>>(
        a.partials, a.chunks, a.head_dim, static_cast<T*>(a.out));
  }
  return cudaGetLastError();
}

template <typename T, int D>
cudaError_t LaunchForHeads(int groups, const DecodeAttentionArgs& a, cudaStream_t stream) {
  switch (groups) {
    case 1: LaunchKernel<T, D, 1>(a, stream); break;
    case 2: LaunchKernel<T, D, 2>(a, stream); break;
    case 3: LaunchKernel<T, D, 3>(a, stream); break;
    case 4: LaunchKernel<T, D, 4>(a, stream); break;
    case 5: LaunchKernel<T, D, 5>(a, stream); break;
    case 6: LaunchKernel<T, D, 6>(a, stream); break;
    case 7: LaunchKernel<T, D, 7>(a, stream); break;
    case 8: LaunchKernel<T, D, 8>(a, stream); break;
    default: return cudaErrorNotSupported;
  }
  return MergeChunks<T>(a, stream);
}

template <typename T>
cudaError_t LaunchForDim(const DecodeAttentionArgs& a, cudaStream_t stream) {
  const int groups = a.heads / a.kv_heads;
  switch (a.head_dim) {
    case 64: return LaunchForHeads<T, 64>(groups, a, stream);
    case 128: return LaunchForHeads<T, 128>(groups, a, stream);
    case 256: return LaunchForHeads<T, 256>(groups, a, stream);
    default: return a.head_dim <= 256 ? LaunchForHeads<T, 0>(groups, a, stream) : cudaErrorNotSupported;
  }
}

}  // namespace

bool DecodeAttentionSupports(int heads, int kv_heads, int head_dim) {
  if (kv_heads <= 0 || heads % kv_heads != 0) return false;
  const int groups = heads / kv_heads;
  return groups >= 1 && groups <= 8 && head_dim >= 2 && head_dim <= 256 && head_dim % 2 == 0;
}

int DecodeAttentionChunks(int rows, int kv_heads, std::int64_t capacity, std::int64_t keys_per_chunk) {
  // Split only when (row, kv head) blocks alone leave multiprocessors idle: measured on one H200
  // at 64 rows x 4 kv heads, splitting a 384-slot cache made the step slower (the extra blocks
  // cost more than the parallelism they add); few rows over long caches are what it is for.
  constexpr std::int64_t kBusyBlocks = 128, kWantedBlocks = 256;
  const std::int64_t blocks = std::int64_t{rows} * kv_heads;
  if (keys_per_chunk <= 0 || capacity <= keys_per_chunk || blocks >= kBusyBlocks) return 1;
  const std::int64_t by_keys = (capacity + keys_per_chunk - 1) / keys_per_chunk;
  const std::int64_t by_blocks = (kWantedBlocks + blocks - 1) / blocks;
  const std::int64_t chunks = by_keys < by_blocks ? by_keys : by_blocks;
  return static_cast<int>(chunks > 64 ? 64 : chunks);
}

std::int64_t DecodeAttentionPartialFloats(int rows, int heads, int head_dim, int chunks) {
  return chunks > 1 ? std::int64_t{rows} * heads * chunks * (head_dim + 2) : 0;
}

cudaError_t DecodeAttention(DType dtype, const DecodeAttentionArgs& args, cudaStream_t stream) {
  if (!DecodeAttentionSupports(args.heads, args.kv_heads, args.head_dim)) return cudaErrorNotSupported;
  if (args.rows == 0) return cudaSuccess;
  if (args.chunks < 1 || (args.chunks > 1 && (args.partials == nullptr || args.chunk < 1)) ||
      std::int64_t{args.chunks} * args.chunk < args.capacity) {
    return cudaErrorInvalidValue;
  }
  if (args.tensor_cores && DecodeAttentionMmaSupports(dtype, args.heads, args.kv_heads, args.head_dim)) {
    const cudaError_t launched = LaunchDecodeAttentionMma(args, stream);
    return launched != cudaSuccess ? launched : MergeChunks<__nv_bfloat16>(args, stream);
  }
  return dtype == DType::kBFloat16 ? LaunchForDim<__nv_bfloat16>(args, stream) : LaunchForDim<float>(args, stream);
}

}  // namespace gspo::engine::kernels
