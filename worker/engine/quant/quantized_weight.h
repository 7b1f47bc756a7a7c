// QuantizedWeight: a frozen [out, in] base weight kept in 4 or 8 bits (QLoRA's use_4bit /
// use_8bit), dequantized on the fly where a layer uses it.
//
//   NF4 (4-bit NormalFloat, the QLoRA paper): the weight flattened into blocks of 64 values,
//   each block scaled by its absolute maximum into [-1, 1] and every value replaced by the
//   nearest of the 16 NF4 levels (Nf4CodeBook), two codes per byte. Double quantization stores
//   the block maxima themselves in 8 bits: minus their mean, in int8 with one float32 scale per
//   256 maxima (linear 8-bit; the paper uses an 8-bit float format for the same role).
//   int8: each row scaled by its absolute maximum into [-127, 127] and rounded (LLM.int8's
//   row-wise absmax without its outlier decomposition: every column is quantized).
//
// Memory per parameter: NF4 4.5 bits (4.127 with double quantization), int8 8 bits + a float32
// per row. Immutable after Quantize; safe to read from several threads.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <vector>

namespace gspo::engine {

enum class QuantKind { kNf4, kInt8 };

struct QuantizeOptions {
  QuantKind kind = QuantKind::kNf4;
  bool double_quant = false;  // NF4 only
};

// The 16 NF4 levels in ascending order: -1, 7 negative and 8 positive quantiles of N(0, 1)
// scaled to [-1, 1], and an exact 0.
const std::array<float, 16>& Nf4CodeBook();

class QuantizedWeight {
 public:
  static constexpr std::int64_t kNf4Block = 64;
  static constexpr std::int64_t kScaleBlock = 256;  // block maxima per double-quantization scale

  // Quantizes `weight` (any floating dtype, any device; 2-D) on its device.
  static QuantizedWeight Quantize(const at::Tensor& weight, const QuantizeOptions& options);

  // The weight in `dtype` on the storage's device: [out, in].
  at::Tensor Dequantize(at::ScalarType dtype) const;
  // Writes the weight into `out` (contiguous, out x in values, floating, on the storage's
  // device): one CUDA kernel where the fused kernels are available (fused_ops.h), else
  // DequantizeReference. Records into a CUDA graph; allocates nothing on the kernel path.
  void DequantizeInto(const at::Tensor& out) const;
  // The same weight through LibTorch ops (CPU, and the kernels' reference in tests).
  at::Tensor DequantizeReference(at::ScalarType dtype) const;

  QuantKind kind() const { return kind_; }
  at::ScalarType original_dtype() const { return dtype_; }
  bool double_quant() const { return scale_codes_.defined(); }
  std::int64_t out_features() const { return out_; }
  std::int64_t in_features() const { return in_; }
  at::Device device() const { return codes_.device(); }
  // Bytes held on the device.
  std::int64_t StorageBytes() const;

 private:
  QuantKind kind_ = QuantKind::kNf4;
  at::ScalarType dtype_ = at::kFloat;  // of the weight before quantization
  std::int64_t out_ = 0, in_ = 0;
  at::Tensor codes_;        // NF4: uint8 [blocks * 32], low nibble first; int8: int8 [out, in]
  at::Tensor scales_;       // float32: NF4 block maxima [blocks] (empty with double quant); int8 row maxima / 127 [out]
  at::Tensor scale_codes_;  // double quant: int8 [blocks], the maxima minus `scale_mean_` over their group's scale
  at::Tensor scale_scales_;  // double quant: float32 [ceil(blocks / 256)]
  double scale_mean_ = 0;
};

// x @ W^T + bias with W dequantized for the product and dropped after it: backward dequantizes
// again instead of keeping the dense weight alive until then (W is frozen: no gradient for it).
at::Tensor QuantizedLinear(const at::Tensor& x, const QuantizedWeight& weight, const at::Tensor& bias);

}  // namespace gspo::engine
