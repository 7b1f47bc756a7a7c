// One block per (b, h, t) row; each thread takes pairs (i, i + D/2), which the rotation mixes.
// Products and sums use the _rn intrinsics: a contracted multiply-add would round once where
// the operators round twice.
#include "worker/engine/kernels/rotary_kernels.h"

#include <algorithm>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kThreads = 128;

template <typename T>
__device__ __forceinline__ float Product(float a, float b) {
  return Round<T>(__fmul_rn(a, b));
}

template <typename T>
__global__ void RotaryKernel(RotaryArgs a) {
  const std::int64_t row = blockIdx.x;  // (b, h, t) in that order
  const std::int64_t t = row % a.tokens, h = row / a.tokens % a.heads, b = row / (a.tokens * a.heads);
  const T* in = static_cast<const T*>(a.in) + b * a.in_strides.batch + h * a.in_strides.head + t * a.in_strides.token;
  T* out = static_cast<T*>(a.out) + b * a.out_strides.batch + h * a.out_strides.head + t * a.out_strides.token;
  const std::int64_t table = b * a.table_batch_stride + t * a.table_token_stride;
  const T* cos = static_cast<const T*>(a.cos) + table;
  const T* sin = static_cast<const T*>(a.sin) + table;
  const std::int64_t half = a.head_dim / 2;
  for (std::int64_t i = threadIdx.x; i < half; i += blockDim.x) {
    const std::int64_t j = i + half;
    const float x1 = ToFloat(in[i]), x2 = ToFloat(in[j]);
    const float c1 = ToFloat(cos[i]), c2 = ToFloat(cos[j]), s1 = ToFloat(sin[i]), s2 = ToFloat(sin[j]);
    float y1, y2;
    if (!a.adjoint) {
      y1 = __fadd_rn(Product<T>(x1, c1), Product<T>(-x2, s1));
      y2 = __fadd_rn(Product<T>(x2, c2), Product<T>(x1, s2));
    } else {
      y1 = __fadd_rn(Product<T>(x1, c1), Product<T>(x2, s2));
      y2 = __fadd_rn(Product<T>(x2, c2), -Product<T>(x1, s1));
    }
    out[i] = FromFloat<T>(y1);
    out[j] = FromFloat<T>(y2);
  }
}

}  // namespace

cudaError_t Rotary(DType dtype, const RotaryArgs& args, cudaStream_t stream) {
  const std::int64_t rows = args.batch * args.heads * args.tokens;
  if (args.head_dim <= 0 || args.head_dim % 2 != 0 || rows < 0 || rows > 0x7fffffff) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  const int threads = static_cast<int>(std::min<std::int64_t>(kThreads, (args.head_dim / 2 + 31) / 32 * 32));
  if (dtype == DType::kBFloat16) {
    RotaryKernel<__nv_bfloat16><<<static_cast<unsigned>(rows), threads, 0, stream>>>(args);
  } else {
    RotaryKernel<float><<<static_cast<unsigned>(rows), threads, 0, stream>>>(args);
  }
  return cudaGetLastError();
}

}  // namespace gspo::engine::kernels
