// CUDA kernels that rebuild a quantized base weight (quant/quantized_weight.h) as a dense
// bfloat16 or float32 [out, in] matrix, in one pass over the codes: the layer then multiplies
// by the dense copy. No LibTorch here (fused_ops_cuda.cc checks the tensors and launches).
//
// Each value is computed in float32 with the reference path's operations and rounding (no fused
// multiply-add), then rounded to the output type once, so the result equals
// QuantizedWeight's LibTorch dequantization bit for bit. Every function returns the launch's
// cudaError_t and never throws; stateless.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "worker/engine/kernels/decode_kernels.h"

namespace gspo::engine::kernels {

// NF4: value i = code_book[code i] * absmax[i / 64], code 2j in the low nibble of codes[j].
// With double quantization absmax[b] = absmax_codes[b] * absmax_scales[b / 256] + absmax_mean.
struct Nf4Dequant {
  const std::uint8_t* codes;
  const float* absmax;              // [blocks], or null with double quantization
  const std::int8_t* absmax_codes;  // [blocks] (double quantization)
  const float* absmax_scales;       // [ceil(blocks / 256)] (double quantization)
  float absmax_mean;
  float code_book[16];
  std::int64_t numel;  // values written to `out`
  void* out;
};
cudaError_t DequantizeNf4(DType dtype, const Nf4Dequant& args, cudaStream_t stream);

// int8: out[r, c] = codes[r, c] * row_scales[r].
cudaError_t DequantizeInt8(DType dtype, const std::int8_t* codes, const float* row_scales, void* out,
                           std::int64_t rows, std::int64_t cols, cudaStream_t stream);

}  // namespace gspo::engine::kernels
