// Device helpers shared by the decode kernels: the activation types, rounding to them, and
// block-wide reductions whose summation order is fixed (results are bitwise reproducible).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "worker/engine/kernels/decode_kernels.h"

namespace gspo::engine::kernels {

// Vector loads and stores of 16 bytes need 16-byte aligned addresses.
inline bool Aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

template <typename T>
__device__ __forceinline__ float ToFloat(T v);
template <>
__device__ __forceinline__ float ToFloat<float>(float v) { return v; }
template <>
__device__ __forceinline__ float ToFloat<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T FromFloat(float v);
template <>
__device__ __forceinline__ float FromFloat<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// v rounded to T and back: what a LibTorch op on T tensors stores between two steps.
template <typename T>
__device__ __forceinline__ float Round(float v) { return ToFloat<T>(FromFloat<T>(v)); }

// V consecutive elements of T as floats, and back (rounded to T): one 16-byte access when
// V * sizeof(T) == 16 (the caller guarantees the alignment), else V scalar ones.
template <typename T, int V>
__device__ __forceinline__ void LoadFloats(const T* p, float (&out)[V]) {
  if constexpr (V * sizeof(T) == 16) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
#pragma unroll
    for (int k = 0; k < V; ++k) out[k] = ToFloat(reinterpret_cast<const T*>(&raw)[k]);
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) out[k] = ToFloat(p[k]);
  }
}

template <typename T, int V>
__device__ __forceinline__ void StoreFloats(T* p, const float (&in)[V]) {
  if constexpr (V * sizeof(T) == 16) {
    uint4 raw;
#pragma unroll
    for (int k = 0; k < V; ++k) reinterpret_cast<T*>(&raw)[k] = FromFloat<T>(in[k]);
    *reinterpret_cast<uint4*>(p) = raw;
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) p[k] = FromFloat<T>(in[k]);
  }
}

// Calls launch(T()) with T the kernel type of `dtype` (bf16 or float), then returns the launch's
// error: the one dispatch of every host-side launcher.
template <typename Launch>
inline cudaError_t LaunchForType(DType dtype, Launch&& launch) {
  if (dtype == DType::kBFloat16) {
    launch(__nv_bfloat16());
  } else {
    launch(0.f);
  }
  return cudaGetLastError();
}

__device__ __forceinline__ float WarpSum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float WarpMax(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 floats; the call synchronises the block twice.
__device__ __forceinline__ float BlockSum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = WarpSum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.f;
  return WarpSum(v);
}

__device__ __forceinline__ float BlockMax(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = WarpMax(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return WarpMax(v);
}

// What one decode attention block (kv head, row, key chunk; decode_attention.cu and
// decode_attention_mma.cu) reads: its slot range, its row's masks, and where its keys and values
// are. Slots of a shared prefix (DecodeAttentionArgs::prefix_source) come from the source row's
// copy, the same values with one copy in L2 for a group, except once a ring layer has wrapped
// (the current column has overwritten a prefix slot).
template <typename T>
struct AttentionBlock {
  std::int64_t column, begin, end;
  std::int64_t query_position;
  const std::int64_t* key_positions;
  const bool* key_valid;
  const T* k_rows;  // this row's rows of the kv head: [capacity, head_dim]
  const T* v_rows;
  std::int64_t shared = 0;         // slots below this come from the prefix source
  std::int64_t source_offset = 0;  // elements from this row's rows to the source's

  __device__ AttentionBlock(const DecodeAttentionArgs& a, int kv_head, int row, int split, int head_dim) {
    column = *a.column;
    const std::int64_t slots = a.ring ? (column + 1 < a.capacity ? column + 1 : a.capacity) : column + 1;
    begin = static_cast<std::int64_t>(split) * a.chunk;
    end = begin + a.chunk < slots ? begin + a.chunk : slots;
    query_position = a.query_positions[row];
    key_positions = a.key_positions + static_cast<std::int64_t>(row) * a.capacity;
    key_valid = a.key_valid + static_cast<std::int64_t>(row) * a.capacity;
    const std::int64_t head_elements = a.capacity * head_dim;
    const std::int64_t head_base = (static_cast<std::int64_t>(row) * a.kv_heads + kv_head) * head_elements;
    k_rows = static_cast<const T*>(a.k_cache) + head_base;
    v_rows = static_cast<const T*>(a.v_cache) + head_base;
    if (a.prefix_source != nullptr && !(a.ring && column >= a.capacity)) {
      shared = a.prefix_slots;
      source_offset = static_cast<std::int64_t>(a.prefix_source[row] - row) * a.kv_heads * head_elements;
    }
  }

  // Whether slot s (below `end`) takes part: a real token, not after the query, inside the
  // window (window <= 0: none).
  __device__ __forceinline__ bool Allowed(std::int64_t s, std::int64_t window) const {
    const std::int64_t key_position = key_positions[s];
    return key_valid[s] && key_position <= query_position && (window <= 0 || query_position - key_position < window);
  }
  // Offset (elements) of slot s's key or value row from k_rows / v_rows.
  __device__ __forceinline__ std::int64_t RowOffset(std::int64_t s, int head_dim) const {
    return s * head_dim + (s < shared ? source_offset : 0);
  }
};

// Applies a float32 norm scale the way the model's reference computation does.
template <typename T>
__device__ __forceinline__ float ScaleNormed(float normed, float scale, NormMode mode) {
  return mode == NormMode::kScaleThenRound ? Round<T>(normed * scale) : Round<T>(Round<T>(normed) * scale);
}

}  // namespace gspo::engine::kernels
