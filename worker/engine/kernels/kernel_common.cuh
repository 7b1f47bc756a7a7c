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

// How many leading slots a decode attention block reads from its row's prefix source instead
// of the row's own copy (DecodeAttentionArgs::prefix_source): none without one, and none once a
// ring layer has wrapped (the current column has overwritten a prefix slot). `column` is the
// slot column written this step.
__device__ __forceinline__ std::int64_t SharedPrefixSlots(const DecodeAttentionArgs& a, std::int64_t column) {
  if (a.prefix_source == nullptr || (a.ring && column >= a.capacity)) return 0;
  return a.prefix_slots;
}

// Elements from row `row`'s cache rows of one kv head to its prefix source's (0 without one).
__device__ __forceinline__ std::int64_t PrefixSourceOffset(const DecodeAttentionArgs& a, int row, int head_dim) {
  if (a.prefix_source == nullptr) return 0;
  return static_cast<std::int64_t>(a.prefix_source[row] - row) * a.kv_heads * a.capacity * head_dim;
}

// Applies a float32 norm scale the way the model's reference computation does.
template <typename T>
__device__ __forceinline__ float ScaleNormed(float normed, float scale, NormMode mode) {
  return mode == NormMode::kScaleThenRound ? Round<T>(normed * scale) : Round<T>(Round<T>(normed) * scale);
}

}  // namespace gspo::engine::kernels
