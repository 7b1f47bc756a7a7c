// The decode step's row-wise kernels: residual add + RMSNorm, rotary embedding + cache write,
// gated activation (decode_kernels.h says what each computes).
#include <cmath>
#include <cstdint>

#include "worker/engine/kernels/kernel_common.cuh"

namespace gspo::engine::kernels {
namespace {

constexpr int kNormThreads = 256;

// One block per row. Pass 1: the sum of squares of h; pass 2: x += scaled h, and the sum of
// squares of the new x; pass 3: out. x is re-read from global memory (it is in L1/L2).
template <typename T>
__global__ void AddRmsNormKernel(T* x, const T* h, std::int64_t h_stride, const float* norm1, const float* norm2,
                                 T* out, int hidden, NormArgs norm) {
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  T* xr = x + row * hidden;
  T* outr = out + row * hidden;
  if (h != nullptr) {
    const T* hr = h + row * h_stride;
    float inv_h = 1.f;
    if (norm1 != nullptr) {
      float sum = 0.f;
      for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        const float v = ToFloat(hr[i]);
        sum += v * v;
      }
      inv_h = rsqrtf(BlockSum(sum, scratch) / hidden + norm.eps);
    }
    float sum = 0.f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
      const float added = norm1 != nullptr ? ScaleNormed<T>(ToFloat(hr[i]) * inv_h, norm1[i], norm.mode)
                                           : ToFloat(hr[i]);
      const float v = Round<T>(ToFloat(xr[i]) + added);
      xr[i] = FromFloat<T>(v);
      sum += v * v;
    }
    const float inv = rsqrtf(BlockSum(sum, scratch) / hidden + norm.eps);
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
      outr[i] = FromFloat<T>(ScaleNormed<T>(ToFloat(xr[i]) * inv, norm2[i], norm.mode));
    }
    return;
  }
  float sum = 0.f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    const float v = ToFloat(xr[i]);
    sum += v * v;
  }
  const float inv = rsqrtf(BlockSum(sum, scratch) / hidden + norm.eps);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    outr[i] = FromFloat<T>(ScaleNormed<T>(ToFloat(xr[i]) * inv, norm2[i], norm.mode));
  }
}

// The same with the row held in registers: thread t owns the V = 16 / sizeof(T) consecutive
// elements at t * V, loaded once with 16-byte accesses (h and x together), so the kernel makes a
// single round trip to memory instead of three. For hidden % V == 0, hidden / V <= 1024 and
// 16-byte aligned rows.
template <typename T>
__global__ void AddRmsNormRegistersKernel(T* x, const T* h, std::int64_t h_stride, const float* norm1,
                                          const float* norm2, T* out, int hidden, NormArgs norm) {
  constexpr int V = 16 / sizeof(T);
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  const int first = threadIdx.x * V;
  const bool active = first < hidden;
  const std::int64_t at = row * hidden + first;
  float xv[V], hv[V];
  uint4 raw_x = make_uint4(0, 0, 0, 0), raw_h = make_uint4(0, 0, 0, 0);
  if (active) {
    raw_x = *reinterpret_cast<const uint4*>(x + at);
    if (h != nullptr) raw_h = *reinterpret_cast<const uint4*>(h + row * h_stride + first);
  }
#pragma unroll
  for (int j = 0; j < V; ++j) {
    xv[j] = ToFloat(reinterpret_cast<const T*>(&raw_x)[j]);
    hv[j] = ToFloat(reinterpret_cast<const T*>(&raw_h)[j]);
  }
  if (h != nullptr) {
    if (norm1 != nullptr) {
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < V; ++j) sum += hv[j] * hv[j];
      const float inv_h = rsqrtf(BlockSum(sum, scratch) / hidden + norm.eps);
      if (active) {
#pragma unroll
        for (int j = 0; j < V; ++j) hv[j] = ScaleNormed<T>(hv[j] * inv_h, norm1[first + j], norm.mode);
      }
    }
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const T v = FromFloat<T>(xv[j] + hv[j]);
      reinterpret_cast<T*>(&raw_x)[j] = v;
      xv[j] = ToFloat(v);
    }
    if (active) *reinterpret_cast<uint4*>(x + at) = raw_x;
  }
  float sum = 0.f;
#pragma unroll
  for (int j = 0; j < V; ++j) sum += xv[j] * xv[j];
  const float inv = rsqrtf(BlockSum(sum, scratch) / hidden + norm.eps);
  if (!active) return;
  uint4 raw_out;
#pragma unroll
  for (int j = 0; j < V; ++j) {
    reinterpret_cast<T*>(&raw_out)[j] = FromFloat<T>(ScaleNormed<T>(xv[j] * inv, norm2[first + j], norm.mode));
  }
  *reinterpret_cast<uint4*>(out + at) = raw_out;
}

// RmsNormBackwardKernel with the row held in registers: V = 16 / sizeof(T) elements per
// thread, x and dy read once with 16-byte loads (the same conditions as AddRmsNormRegistersKernel).
template <typename T>
__global__ void RmsNormBackwardRegistersKernel(const T* x, const T* dy, const float* scale, T* dx, int hidden,
                                               float eps) {
  constexpr int V = 16 / sizeof(T);
  __shared__ float scratch[32];
  const int first = threadIdx.x * V;
  const bool active = first < hidden;
  const std::int64_t at = static_cast<std::int64_t>(blockIdx.x) * hidden + first;
  float xv[V] = {}, gv[V] = {};
  if (active) {
    const uint4 raw_x = *reinterpret_cast<const uint4*>(x + at), raw_dy = *reinterpret_cast<const uint4*>(dy + at);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      xv[j] = ToFloat(reinterpret_cast<const T*>(&raw_x)[j]);
      gv[j] = ToFloat(reinterpret_cast<const T*>(&raw_dy)[j]) * scale[first + j];
    }
  }
  float squares = 0.f, dot = 0.f;
#pragma unroll
  for (int j = 0; j < V; ++j) {
    squares += xv[j] * xv[j];
    dot += gv[j] * xv[j];
  }
  const float r = rsqrtf(BlockSum(squares, scratch) / hidden + eps);
  const float pull = r * r * r * BlockSum(dot, scratch) / hidden;
  if (!active) return;
  uint4 raw_dx;
#pragma unroll
  for (int j = 0; j < V; ++j) reinterpret_cast<T*>(&raw_dx)[j] = FromFloat<T>(r * gv[j] - xv[j] * pull);
  *reinterpret_cast<uint4*>(dx + at) = raw_dx;
}

// One block per row: the sums of x^2 and of g * x in one pass, then dx (decode_kernels.h). x
// and dy are read twice; the second read comes from L1/L2.
template <typename T>
__global__ void RmsNormBackwardKernel(const T* x, const T* dy, const float* scale, T* dx, int hidden, float eps) {
  __shared__ float scratch[32];
  const std::int64_t at = static_cast<std::int64_t>(blockIdx.x) * hidden;
  const T* xr = x + at;
  const T* dyr = dy + at;
  float squares = 0.f, dot = 0.f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    const float v = ToFloat(xr[i]);
    squares += v * v;
    dot += ToFloat(dyr[i]) * scale[i] * v;
  }
  const float r = rsqrtf(BlockSum(squares, scratch) / hidden + eps);
  const float pull = r * r * r * BlockSum(dot, scratch) / hidden;
  T* dxr = dx + at;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    dxr[i] = FromFloat<T>(r * ToFloat(dyr[i]) * scale[i] - ToFloat(xr[i]) * pull);
  }
}

// One block per (row, head) of the H query and K key heads, D/2 threads rounded up to whole
// warps: thread i rotates the pair (i, i + D/2). Key blocks also copy the value head into the
// cache.
template <typename T>
__global__ void RopeWriteKernel(RopeWriteArgs a) {
  __shared__ float scratch[32];
  const int row = blockIdx.x, head = blockIdx.y, half = a.head_dim / 2;
  const bool active = static_cast<int>(threadIdx.x) < half;
  const int i = active ? threadIdx.x : 0;  // idle threads read a valid pair and write nothing
  const bool is_query = head < a.heads;
  const int kv_head = head - a.heads;
  const T* in = static_cast<const T*>(a.qkv) + row * a.qkv_stride + static_cast<std::int64_t>(head) * a.head_dim;
  float x1 = active ? ToFloat(in[i]) : 0.f, x2 = active ? ToFloat(in[i + half]) : 0.f;
  const float* qk_norm = is_query ? a.q_norm : a.k_norm;
  if (qk_norm != nullptr) {
    const float inv = rsqrtf(BlockSum(x1 * x1 + x2 * x2, scratch) / a.head_dim + a.norm.eps);
    x1 = ScaleNormed<T>(x1 * inv, qk_norm[i], a.norm.mode);
    x2 = ScaleNormed<T>(x2 * inv, qk_norm[i + half], a.norm.mode);
  }
  // The reference: angle in float32, cos/sin rounded to T, then x*cos + rotate_half(x)*sin
  // with every product and the sum rounded to T.
  const float angle = static_cast<float>(a.positions[row]) * a.inv_freq[i];
  const float c = Round<T>(cosf(angle)), s = Round<T>(sinf(angle));
  const T y1 = FromFloat<T>(Round<T>(x1 * c) + Round<T>(-x2 * s));
  const T y2 = FromFloat<T>(Round<T>(x2 * c) + Round<T>(x1 * s));
  if (!active) return;
  if (is_query) {
    T* q = static_cast<T*>(a.q_out) + (static_cast<std::int64_t>(row) * a.heads + head) * a.head_dim;
    q[i] = y1;
    q[i + half] = y2;
    return;
  }
  const std::int64_t slot = a.ring ? *a.column % a.capacity : *a.column;
  const std::int64_t at = ((static_cast<std::int64_t>(row) * a.kv_heads + kv_head) * a.capacity + slot) * a.head_dim;
  T* k = static_cast<T*>(a.k_cache) + at;
  k[i] = y1;
  k[i + half] = y2;
  const T* v_in = in + static_cast<std::int64_t>(a.kv_heads) * a.head_dim;
  T* v = static_cast<T*>(a.v_cache) + at;
  v[i] = v_in[i];
  v[i + half] = v_in[i + half];
  if (a.key_positions != nullptr && kv_head == 0 && i == 0) {
    a.key_positions[row * a.capacity + slot] = a.positions[row];
    a.key_valid[row * a.capacity + slot] = true;
  }
}

__device__ __forceinline__ float Activate(Activation act, float x) {
  switch (act) {
    case Activation::kGeluTanh: {
      const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.f + tanhf(inner));
    }
    case Activation::kGelu:
      return 0.5f * x * (1.f + erff(x * 0.7071067811865476f));
    case Activation::kSilu:
      return x / (1.f + expf(-x));
  }
  return x;
}

// d act(x) / dx, in the reference kernels' float32 steps.
__device__ __forceinline__ float ActivationSlope(Activation act, float x) {
  switch (act) {
    case Activation::kGeluTanh: {
      constexpr float kBeta = 0.7978845608028654f, kKappa = 0.044715f;
      const float x_sq = x * x;
      const float t = tanhf(kBeta * (x + kKappa * (x_sq * x)));
      const float half_x = 0.5f * x;
      return 0.5f * (1.f + t) + half_x * (1.f - t * t) * kBeta * (1.f + 3.f * kKappa * x_sq);
    }
    case Activation::kGelu: {
      const float cdf = 0.5f * (1.f + erff(x * 0.7071067811865476f));
      const float pdf = expf(-0.5f * x * x) * 0.3989422804014327f;
      return cdf + x * pdf;
    }
    case Activation::kSilu: {
      const float sigmoid = 1.f / (1.f + expf(-x));
      return sigmoid * (1.f + x * (1.f - sigmoid));
    }
  }
  return 1.f;
}

// One element of the gated activation's backward: from gate g, up u and dh, the gradients
// d gate = act'(g) * round(dh * u) and d up = dh * round(act(g)), each rounded to T.
template <typename T>
__device__ __forceinline__ void GatedSlopes(Activation act, float g, float u, float dh, T* d_gate, T* d_up) {
  *d_gate = FromFloat<T>(Round<T>(dh * u) * ActivationSlope(act, g));
  *d_up = FromFloat<T>(dh * Round<T>(Activate(act, g)));
}

template <typename T>
__global__ void GatedActivationBackwardVectorKernel(Activation act, const T* gate_up, const T* dh, T* d_gate_up,
                                                    std::int64_t rows, std::int64_t intermediate) {
  constexpr int V = 16 / sizeof(T);
  const std::int64_t vectors = rows * intermediate / V;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < vectors;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = idx * V / intermediate, col = idx * V % intermediate;
    const std::int64_t at = row * 2 * intermediate + col;
    const uint4 raw_gate = *reinterpret_cast<const uint4*>(gate_up + at);
    const uint4 raw_up = *reinterpret_cast<const uint4*>(gate_up + at + intermediate);
    const uint4 raw_dh = reinterpret_cast<const uint4*>(dh)[idx];
    uint4 out_gate, out_up;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const auto get = [&](const uint4& raw) { return ToFloat(reinterpret_cast<const T*>(&raw)[j]); };
      GatedSlopes<T>(act, get(raw_gate), get(raw_up), get(raw_dh), &reinterpret_cast<T*>(&out_gate)[j],
                     &reinterpret_cast<T*>(&out_up)[j]);
    }
    *reinterpret_cast<uint4*>(d_gate_up + at) = out_gate;
    *reinterpret_cast<uint4*>(d_gate_up + at + intermediate) = out_up;
  }
}

template <typename T>
__global__ void GatedActivationBackwardKernel(Activation act, const T* gate_up, const T* dh, T* d_gate_up,
                                              std::int64_t rows, std::int64_t intermediate) {
  const std::int64_t total = rows * intermediate;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = idx / intermediate, col = idx % intermediate;
    const std::int64_t at = row * 2 * intermediate + col;
    GatedSlopes<T>(act, ToFloat(gate_up[at]), ToFloat(gate_up[at + intermediate]), ToFloat(dh[idx]), &d_gate_up[at],
                   &d_gate_up[at + intermediate]);
  }
}

// V = 16 / sizeof(T) consecutive outputs per thread with 16-byte loads and stores (for
// intermediate % V == 0 and aligned rows).
template <typename T>
__global__ void GatedActivationVectorKernel(Activation act, const T* gate_up, T* out, std::int64_t rows,
                                            std::int64_t intermediate) {
  constexpr int V = 16 / sizeof(T);
  const std::int64_t vectors = rows * intermediate / V;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < vectors;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = idx * V / intermediate, col = idx * V % intermediate;
    const T* in = gate_up + row * 2 * intermediate;
    const uint4 raw_gate = *reinterpret_cast<const uint4*>(in + col);
    const uint4 raw_up = *reinterpret_cast<const uint4*>(in + intermediate + col);
    uint4 raw_out;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const float gate = Round<T>(Activate(act, ToFloat(reinterpret_cast<const T*>(&raw_gate)[j])));
      reinterpret_cast<T*>(&raw_out)[j] = FromFloat<T>(gate * ToFloat(reinterpret_cast<const T*>(&raw_up)[j]));
    }
    reinterpret_cast<uint4*>(out)[idx] = raw_out;
  }
}

template <typename T>
__global__ void GatedActivationKernel(Activation act, const T* gate_up, T* out, std::int64_t rows,
                                      std::int64_t intermediate) {
  const std::int64_t total = rows * intermediate;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = idx / intermediate, col = idx % intermediate;
    const T* in = gate_up + row * 2 * intermediate;
    const float gate = Round<T>(Activate(act, ToFloat(in[col])));
    out[idx] = FromFloat<T>(gate * ToFloat(in[intermediate + col]));
  }
}

}  // namespace

cudaError_t AddRmsNorm(DType dtype, void* x, const void* h, std::int64_t h_stride, const float* norm1,
                       const float* norm2, void* out, std::int64_t rows, std::int64_t hidden, NormArgs norm,
                       cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  const int vector = dtype == DType::kBFloat16 ? 8 : 4;
  const bool registers = hidden % vector == 0 && hidden / vector <= 1024 && Aligned16(x) && Aligned16(h) &&
                         h_stride % vector == 0 && Aligned16(out);
  if (registers) {
    const int threads = static_cast<int>((hidden / vector + 31) / 32 * 32);
    if (dtype == DType::kBFloat16) {
      using T = __nv_bfloat16;
      AddRmsNormRegistersKernel<T><<<rows, threads, 0, stream>>>(
          static_cast<T*>(x), static_cast<const T*>(h), h_stride, norm1, norm2, static_cast<T*>(out), hidden, norm);
    } else {
      AddRmsNormRegistersKernel<float><<<rows, threads, 0, stream>>>(static_cast<float*>(x), static_cast<const float*>(h),
                                                                     h_stride, norm1, norm2, static_cast<float*>(out),
                                                                     hidden, norm);
    }
    return cudaGetLastError();
  }
  if (dtype == DType::kBFloat16) {
    using T = __nv_bfloat16;
    AddRmsNormKernel<T><<<rows, kNormThreads, 0, stream>>>(static_cast<T*>(x), static_cast<const T*>(h), h_stride,
                                                         norm1, norm2, static_cast<T*>(out), hidden, norm);
  } else {
    AddRmsNormKernel<float><<<rows, kNormThreads, 0, stream>>>(static_cast<float*>(x), static_cast<const float*>(h),
                                                             h_stride, norm1, norm2, static_cast<float*>(out), hidden,
                                                             norm);
  }
  return cudaGetLastError();
}

cudaError_t RmsNormBackward(DType dtype, const void* x, const void* dy, const float* scale, void* dx,
                            std::int64_t rows, std::int64_t hidden, float eps, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (hidden <= 0 || hidden > (std::int64_t{1} << 30) || rows > 0x7fffffff) return cudaErrorNotSupported;
  const int h = static_cast<int>(hidden);
  return LaunchForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr int V = 16 / sizeof(T);
    const auto blocks = static_cast<unsigned>(rows);
    const T* xs = static_cast<const T*>(x);
    const T* grad = static_cast<const T*>(dy);
    T* out = static_cast<T*>(dx);
    if (hidden % V == 0 && hidden / V <= 1024 && Aligned16(x) && Aligned16(dy) && Aligned16(dx) && Aligned16(scale)) {
      const int threads = static_cast<int>((hidden / V + 31) / 32 * 32);
      RmsNormBackwardRegistersKernel<T><<<blocks, threads, 0, stream>>>(xs, grad, scale, out, h, eps);
    } else {
      RmsNormBackwardKernel<T><<<blocks, kNormThreads, 0, stream>>>(xs, grad, scale, out, h, eps);
    }
  });
}

cudaError_t RopeAndWriteCache(DType dtype, const RopeWriteArgs& args, cudaStream_t stream) {
  if (args.rows == 0) return cudaSuccess;
  const int half = args.head_dim / 2;
  if (args.head_dim % 2 != 0 || half > 1024) return cudaErrorNotSupported;
  const dim3 grid(args.rows, args.heads + args.kv_heads);
  const int threads = (half + 31) / 32 * 32;
  if (dtype == DType::kBFloat16) {
    RopeWriteKernel<__nv_bfloat16><<<grid, threads, 0, stream>>>(args);
  } else {
    RopeWriteKernel<float><<<grid, threads, 0, stream>>>(args);
  }
  return cudaGetLastError();
}

cudaError_t GatedActivation(DType dtype, Activation act, const void* gate_up, void* out,
                            std::int64_t rows, std::int64_t intermediate, cudaStream_t stream) {
  const std::int64_t total = rows * intermediate;
  if (total == 0) return cudaSuccess;
  const int threads = 256;
  const int vector = dtype == DType::kBFloat16 ? 8 : 4;
  if (intermediate % vector == 0 && Aligned16(gate_up) && Aligned16(out)) {
    const int blocks = static_cast<int>(std::min<std::int64_t>((total / vector + threads - 1) / threads, 65535));
    if (dtype == DType::kBFloat16) {
      using T = __nv_bfloat16;
      GatedActivationVectorKernel<T><<<blocks, threads, 0, stream>>>(act, static_cast<const T*>(gate_up),
                                                                     static_cast<T*>(out), rows, intermediate);
    } else {
      GatedActivationVectorKernel<float><<<blocks, threads, 0, stream>>>(act, static_cast<const float*>(gate_up),
                                                                         static_cast<float*>(out), rows, intermediate);
    }
    return cudaGetLastError();
  }
  const int blocks = static_cast<int>(std::min<std::int64_t>((total + threads - 1) / threads, 65535));
  if (dtype == DType::kBFloat16) {
    using T = __nv_bfloat16;
    GatedActivationKernel<T><<<blocks, threads, 0, stream>>>(act, static_cast<const T*>(gate_up),
                                                           static_cast<T*>(out), rows, intermediate);
  } else {
    GatedActivationKernel<float><<<blocks, threads, 0, stream>>>(act, static_cast<const float*>(gate_up),
                                                               static_cast<float*>(out), rows, intermediate);
  }
  return cudaGetLastError();
}

cudaError_t GatedActivationBackward(DType dtype, Activation act, const void* gate_up, const void* dh, void* d_gate_up,
                                    std::int64_t rows, std::int64_t intermediate, cudaStream_t stream) {
  const std::int64_t total = rows * intermediate;
  if (total == 0) return cudaSuccess;
  const int threads = 256;
  const int vector = dtype == DType::kBFloat16 ? 8 : 4;
  const bool vectors = intermediate % vector == 0 && Aligned16(gate_up) && Aligned16(dh) && Aligned16(d_gate_up);
  const std::int64_t items = vectors ? total / vector : total;
  const int blocks = static_cast<int>(std::min<std::int64_t>((items + threads - 1) / threads, 65535 * 8));
  return LaunchForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = static_cast<const T*>(gate_up);
    const T* grad = static_cast<const T*>(dh);
    T* out = static_cast<T*>(d_gate_up);
    if (vectors) {
      GatedActivationBackwardVectorKernel<T><<<blocks, threads, 0, stream>>>(act, in, grad, out, rows, intermediate);
    } else {
      GatedActivationBackwardKernel<T><<<blocks, threads, 0, stream>>>(act, in, grad, out, rows, intermediate);
    }
  });
}

}  // namespace gspo::engine::kernels
