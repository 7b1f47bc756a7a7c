// Each thread takes pairs (i, i + D/2), which the rotation mixes: 16-byte vectors of them when
// the layout allows, else one pair at a time. Products and sums use the _rn intrinsics: a
// contracted multiply-add would round once where the operators round twice.
#include "worker/engine/kernels/rotary_kernels.h"

#include <algorithm>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ float Product(float a, float b) {
  return Round<T>(__fmul_rn(a, b));
}

// Element i of the first half and its partner j = i + D/2, rotated (or the adjoint applied).
template <typename T>
__device__ __forceinline__ void RotatePair(bool adjoint, float x1, float x2, float c1, float c2, float s1, float s2,
                                           float* y1, float* y2) {
  if (!adjoint) {
    *y1 = __fadd_rn(Product<T>(x1, c1), Product<T>(-x2, s1));
    *y2 = __fadd_rn(Product<T>(x2, c2), Product<T>(x1, s2));
  } else {
    *y1 = __fadd_rn(Product<T>(x1, c1), Product<T>(x2, s2));
    *y2 = __fadd_rn(Product<T>(x2, c2), -Product<T>(x1, s1));
  }
}

// The row's pointers: (b, h, t) of `row` in that order.
template <typename T>
struct RowPointers {
  const T* in;
  T* out;
  const T* cos;
  const T* sin;
};
template <typename T>
__device__ __forceinline__ RowPointers<T> PointersOf(const RotaryArgs& a, std::int64_t row) {
  const std::int64_t t = row % a.tokens, h = row / a.tokens % a.heads, b = row / (a.tokens * a.heads);
  const std::int64_t table = b * a.table_batch_stride + t * a.table_token_stride;
  return {static_cast<const T*>(a.in) + b * a.in_strides.batch + h * a.in_strides.head + t * a.in_strides.token,
          static_cast<T*>(a.out) + b * a.out_strides.batch + h * a.out_strides.head + t * a.out_strides.token,
          static_cast<const T*>(a.cos) + table, static_cast<const T*>(a.sin) + table};
}

// Any head_dim and layout: one block per row, one pair per thread.
template <typename T>
__global__ void RotaryKernel(RotaryArgs a) {
  const RowPointers<T> p = PointersOf<T>(a, blockIdx.x);
  const std::int64_t half = a.head_dim / 2;
  for (std::int64_t i = threadIdx.x; i < half; i += blockDim.x) {
    const std::int64_t j = i + half;
    float y1, y2;
    RotatePair<T>(a.adjoint, ToFloat(p.in[i]), ToFloat(p.in[j]), ToFloat(p.cos[i]), ToFloat(p.cos[j]),
                  ToFloat(p.sin[i]), ToFloat(p.sin[j]), &y1, &y2);
    p.out[i] = FromFloat<T>(y1);
    p.out[j] = FromFloat<T>(y2);
  }
}

// 16-byte vectors: V = 16 / sizeof(T) pairs per thread, half / V threads per row (VectorsFit).
template <typename T>
__global__ void RotaryVectorKernel(RotaryArgs a, std::int64_t rows) {
  constexpr int V = 16 / sizeof(T);
  const std::int64_t lanes_per_row = a.head_dim / 2 / V;
  const std::int64_t item = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t row = item / lanes_per_row;
  if (row >= rows) return;
  const RowPointers<T> p = PointersOf<T>(a, row);
  const std::int64_t i = item % lanes_per_row * V, j = i + a.head_dim / 2;
  const auto load = [](const T* at) { return *reinterpret_cast<const uint4*>(at); };
  const uint4 x1 = load(p.in + i), x2 = load(p.in + j), c1 = load(p.cos + i), c2 = load(p.cos + j);
  const uint4 s1 = load(p.sin + i), s2 = load(p.sin + j);
  uint4 y1, y2;
  const auto get = [](const uint4& v, int k) { return ToFloat(reinterpret_cast<const T*>(&v)[k]); };
#pragma unroll
  for (int k = 0; k < V; ++k) {
    float r1, r2;
    RotatePair<T>(a.adjoint, get(x1, k), get(x2, k), get(c1, k), get(c2, k), get(s1, k), get(s2, k), &r1, &r2);
    reinterpret_cast<T*>(&y1)[k] = FromFloat<T>(r1);
    reinterpret_cast<T*>(&y2)[k] = FromFloat<T>(r2);
  }
  *reinterpret_cast<uint4*>(p.out + i) = y1;
  *reinterpret_cast<uint4*>(p.out + j) = y2;
}

// Every row of `a` starts 16-byte aligned and the halves split into whole vectors.
bool VectorsFit(const RotaryArgs& a, int vector) {
  const std::int64_t strides[] = {a.in_strides.batch, a.in_strides.head, a.in_strides.token, a.out_strides.batch,
                                  a.out_strides.head, a.out_strides.token, a.table_batch_stride,
                                  a.table_token_stride, a.head_dim / 2};
  for (const std::int64_t s : strides) {
    if (s % vector != 0) return false;
  }
  return Aligned16(a.in) && Aligned16(a.out) && Aligned16(a.cos) && Aligned16(a.sin);
}

}  // namespace

cudaError_t Rotary(DType dtype, const RotaryArgs& args, cudaStream_t stream) {
  const std::int64_t rows = args.batch * args.heads * args.tokens;
  if (args.head_dim <= 0 || args.head_dim % 2 != 0 || rows < 0 || rows > 0x7fffffff) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  return LaunchForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr int V = 16 / sizeof(T);
    if (VectorsFit(args, V)) {
      const std::int64_t items = rows * (args.head_dim / 2 / V);
      const auto blocks = static_cast<unsigned>((items + kThreads - 1) / kThreads);
      RotaryVectorKernel<T><<<blocks, kThreads, 0, stream>>>(args, rows);
    } else {
      const int threads = static_cast<int>(std::min<std::int64_t>(kThreads, (args.head_dim / 2 + 31) / 32 * 32));
      RotaryKernel<T><<<static_cast<unsigned>(rows), threads, 0, stream>>>(args);
    }
  });
}

}  // namespace gspo::engine::kernels
