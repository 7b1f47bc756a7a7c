// Dequantization of NF4 and int8 base weights (dequantize_kernels.h). The NF4 vector kernel
// gives each thread four chunks of 8 values (4 bytes of codes each, within one 64-value block, so
// one absmax), a block width apart; the int8 one 16 codes (within one row), written as 32 or 64
// contiguous bytes; the scalar kernels cover sizes and addresses the vectors cannot.
#include <algorithm>
#include <cstdint>

#include "worker/engine/kernels/dequantize_kernels.h"
#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kValuesPerThread = 16;
constexpr std::int64_t kNf4Block = 64;
constexpr std::int64_t kAbsmaxGroup = 256;

__device__ __forceinline__ float BlockAbsmax(const Nf4Dequant& a, std::int64_t block) {
  if (a.absmax != nullptr) return a.absmax[block];
  // Two rounded steps, as the reference computes them (no fused multiply-add).
  return __fadd_rn(__fmul_rn(static_cast<float>(a.absmax_codes[block]), a.absmax_scales[block / kAbsmaxGroup]),
                   a.absmax_mean);
}

// Stores 16 float32 values as 16 T at `out` (16-byte aligned).
template <typename T>
__device__ __forceinline__ void Store16(const float (&v)[16], T* out);
template <>
__device__ __forceinline__ void Store16<__nv_bfloat16>(const float (&v)[16], __nv_bfloat16* out) {
  uint4 packed[2];
  auto* halves = reinterpret_cast<__nv_bfloat162*>(packed);
  for (int i = 0; i < 8; ++i) halves[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
  reinterpret_cast<uint4*>(out)[0] = packed[0];
  reinterpret_cast<uint4*>(out)[1] = packed[1];
}
template <>
__device__ __forceinline__ void Store16<float>(const float (&v)[16], float* out) {
  for (int i = 0; i < 4; ++i) reinterpret_cast<float4*>(out)[i] = make_float4(v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]);
}

// Stores 8 float32 values as 8 T at `out` (16-byte aligned).
template <typename T>
__device__ __forceinline__ void Store8(const float (&v)[8], T* out);
template <>
__device__ __forceinline__ void Store8<__nv_bfloat16>(const float (&v)[8], __nv_bfloat16* out) {
  uint4 packed;
  auto* halves = reinterpret_cast<__nv_bfloat162*>(&packed);
  for (int i = 0; i < 4; ++i) halves[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
  *reinterpret_cast<uint4*>(out) = packed;
}
template <>
__device__ __forceinline__ void Store8<float>(const float (&v)[8], float* out) {
  reinterpret_cast<float4*>(out)[0] = make_float4(v[0], v[1], v[2], v[3]);
  reinterpret_cast<float4*>(out)[1] = make_float4(v[4], v[5], v[6], v[7]);
}

// A chunk is 8 values: 4 bytes of codes in, 16 bytes of bfloat16 out. A thread takes
// kNf4ChunksPerThread chunks one block width apart, so each of a warp's loads and stores covers
// one contiguous span (128 bytes in, 512 out), and issues all its loads before its first store:
// the kernel moves ~4.5x more bytes out than in, and the stores are what must stream.
constexpr int kNf4ChunksPerThread = 4;
constexpr int kNf4ChunkValues = 8;

template <typename T>
__global__ void Nf4VectorKernel(Nf4Dequant a) {
  __shared__ float book[16];
  if (threadIdx.x < 16) book[threadIdx.x] = a.code_book[threadIdx.x];
  __syncthreads();
  const std::int64_t chunks = a.numel / kNf4ChunkValues;
  const auto* codes = reinterpret_cast<const std::uint32_t*>(a.codes);
  T* out = static_cast<T*>(a.out);
  const std::int64_t span = static_cast<std::int64_t>(blockDim.x) * kNf4ChunksPerThread;
  for (std::int64_t first = blockIdx.x * span + threadIdx.x; first < chunks; first += gridDim.x * span) {
    std::uint32_t packed[kNf4ChunksPerThread];
    float scale[kNf4ChunksPerThread];
#pragma unroll
    for (int j = 0; j < kNf4ChunksPerThread; ++j) {
      const std::int64_t c = first + j * static_cast<std::int64_t>(blockDim.x);
      packed[j] = c < chunks ? __ldg(codes + c) : 0u;
      scale[j] = c < chunks ? BlockAbsmax(a, c * kNf4ChunkValues / kNf4Block) : 0.0f;
    }
#pragma unroll
    for (int j = 0; j < kNf4ChunksPerThread; ++j) {
      const std::int64_t c = first + j * static_cast<std::int64_t>(blockDim.x);
      if (c >= chunks) break;
      float v[kNf4ChunkValues];
      for (int i = 0; i < 4; ++i) {
        const unsigned byte = (packed[j] >> (8 * i)) & 0xFFu;
        v[2 * i] = __fmul_rn(book[byte & 0xFu], scale[j]);
        v[2 * i + 1] = __fmul_rn(book[byte >> 4], scale[j]);
      }
      Store8<T>(v, out + c * kNf4ChunkValues);
    }
  }
}

template <typename T>
__global__ void Nf4ScalarKernel(Nf4Dequant a) {
  __shared__ float book[16];
  if (threadIdx.x < 16) book[threadIdx.x] = a.code_book[threadIdx.x];
  __syncthreads();
  T* out = static_cast<T*>(a.out);
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < a.numel;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const unsigned byte = a.codes[i / 2];
    const unsigned code = i % 2 == 0 ? byte & 0xFu : byte >> 4;
    out[i] = FromFloat<T>(__fmul_rn(book[code], BlockAbsmax(a, i / kNf4Block)));
  }
}

template <typename T>
__global__ void Int8VectorKernel(const std::int8_t* codes, const float* row_scales, T* out, std::int64_t rows,
                                 std::int64_t cols) {
  const std::int64_t groups = rows * cols / kValuesPerThread;
  for (std::int64_t g = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; g < groups;
       g += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int4 packed = reinterpret_cast<const int4*>(codes)[g];
    const auto* bytes = reinterpret_cast<const std::int8_t*>(&packed);
    const float scale = row_scales[g * kValuesPerThread / cols];
    float v[16];
    for (int i = 0; i < 16; ++i) v[i] = __fmul_rn(static_cast<float>(bytes[i]), scale);
    Store16<T>(v, out + g * kValuesPerThread);
  }
}

template <typename T>
__global__ void Int8ScalarKernel(const std::int8_t* codes, const float* row_scales, T* out, std::int64_t rows,
                                 std::int64_t cols) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < rows * cols;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[i] = FromFloat<T>(__fmul_rn(static_cast<float>(codes[i]), row_scales[i / cols]));
  }
}

int Blocks(std::int64_t work) {
  return static_cast<int>(std::clamp<std::int64_t>((work + kThreads - 1) / kThreads, 1, 65535));
}

template <typename T>
cudaError_t LaunchNf4(const Nf4Dequant& a, cudaStream_t stream) {
  const bool vector = a.numel % kNf4ChunkValues == 0 && Aligned16(a.out) &&
                      reinterpret_cast<std::uintptr_t>(a.codes) % 4 == 0;
  if (vector) {
    const std::int64_t threads = (a.numel / kNf4ChunkValues + kNf4ChunksPerThread - 1) / kNf4ChunksPerThread;
    Nf4VectorKernel<T><<<Blocks(threads), kThreads, 0, stream>>>(a);
  } else {
    Nf4ScalarKernel<T><<<Blocks(a.numel), kThreads, 0, stream>>>(a);
  }
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchInt8(const std::int8_t* codes, const float* row_scales, T* out, std::int64_t rows,
                       std::int64_t cols, cudaStream_t stream) {
  if (cols % kValuesPerThread == 0 && Aligned16(out) && Aligned16(codes)) {
    Int8VectorKernel<T><<<Blocks(rows * cols / kValuesPerThread), kThreads, 0, stream>>>(codes, row_scales, out,
                                                                                           rows, cols);
  } else {
    Int8ScalarKernel<T><<<Blocks(rows * cols), kThreads, 0, stream>>>(codes, row_scales, out, rows, cols);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t DequantizeNf4(DType dtype, const Nf4Dequant& args, cudaStream_t stream) {
  if (args.numel == 0) return cudaSuccess;
  if (args.absmax == nullptr && (args.absmax_codes == nullptr || args.absmax_scales == nullptr)) {
    return cudaErrorInvalidValue;
  }
  return dtype == DType::kBFloat16 ? LaunchNf4<__nv_bfloat16>(args, stream) : LaunchNf4<float>(args, stream);
}

cudaError_t DequantizeInt8(DType dtype, const std::int8_t* codes, const float* row_scales, void* out,
                           std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
  if (rows * cols == 0) return cudaSuccess;
  if (dtype == DType::kBFloat16) {
    return LaunchInt8(codes, row_scales, static_cast<__nv_bfloat16*>(out), rows, cols, stream);
  }
  return LaunchInt8(codes, row_scales, static_cast<float*>(out), rows, cols, stream);
}

}  // namespace gspo::engine::kernels
