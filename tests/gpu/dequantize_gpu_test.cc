// The dequantization kernels (kernels/dequantize_kernels.cu) against QuantizedWeight's LibTorch
// computation on the same device: bit-identical for NF4, NF4 with double quantization and
// int8, in bfloat16 and float32, through the vector kernels (sizes in multiples of 16) and the
// scalar ones (odd sizes, an output that starts off a 16-byte boundary).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/quant/quantized_weight.h"

namespace gspo::engine {
namespace {

const at::Device kCuda("cuda:0");

struct Case {
  std::int64_t out, in;
};

std::string Describe(const QuantizeOptions& options, at::ScalarType dtype, Case shape) {
  const std::string kind = options.kind == QuantKind::kInt8 ? "int8" : options.double_quant ? "nf4-dq" : "nf4";
  return kind + " " + std::string(c10::toString(dtype)) + " " + std::to_string(shape.out) + "x" +
         std::to_string(shape.in);
}

TEST(Dequantize, KernelsEqualTheLibTorchComputationBitForBit) {
  // 4096 x 1024: 65,536 NF4 blocks, so double quantization spans 256 scale groups.
  const std::vector<Case> shapes = {{96, 64}, {4096, 1024}, {7, 9}, {5, 24}, {33, 48}};
  for (const QuantizeOptions options : {QuantizeOptions{QuantKind::kNf4, false}, QuantizeOptions{QuantKind::kNf4, true},
                                        QuantizeOptions{QuantKind::kInt8, false}}) {
    for (const at::ScalarType dtype : {at::kBFloat16, at::kFloat}) {
      for (const Case shape : shapes) {
        at::manual_seed(shape.out * 31 + shape.in);
        const at::Tensor weight = at::randn({shape.out, shape.in}, at::TensorOptions(kCuda).dtype(dtype)) * 0.05;
        const QuantizedWeight q = QuantizedWeight::Quantize(weight, options);
        ASSERT_TRUE(fused::Available(weight));
        const at::Tensor kernel = q.Dequantize(dtype), reference = q.DequantizeReference(dtype);
        EXPECT_TRUE(at::equal(kernel, reference)) << Describe(options, dtype, shape);
        // Sanity against the original weight: NF4 is within half a code-book gap of each block
        // maximum, int8 within half a step of each row maximum.
        const double err = (kernel.to(at::kFloat) - weight.to(at::kFloat)).abs().max().item<double>();
        const double bound = options.kind == QuantKind::kInt8 ? 0.6 / 127 : 0.17;
        EXPECT_LE(err, bound * weight.abs().max().item<double>() + 1e-2) << Describe(options, dtype, shape);

        // An output 2 elements into a buffer: not 16-byte aligned, the scalar kernels.
        const at::Tensor buffer = at::zeros({shape.out * shape.in + 2}, weight.options());
        q.DequantizeInto(buffer.narrow(0, 2, shape.out * shape.in));
        EXPECT_TRUE(at::equal(buffer.narrow(0, 2, shape.out * shape.in).view({shape.out, shape.in}), reference))
            << "unaligned " << Describe(options, dtype, shape);
        EXPECT_EQ(buffer.narrow(0, 0, 2).abs().sum().item<double>(), 0) << "wrote before its output";
      }
    }
  }
}

TEST(Dequantize, RefusesAnOutputOfTheWrongSizeOrDevice) {
  const QuantizedWeight q = QuantizedWeight::Quantize(at::randn({8, 64}, at::TensorOptions(kCuda)), {});
  EXPECT_THROW(q.DequantizeInto(at::empty({8, 63}, at::TensorOptions(kCuda))), c10::Error);
  EXPECT_THROW(q.DequantizeInto(at::empty({8, 64})), c10::Error);
  EXPECT_THROW(q.DequantizeInto(at::empty({64, 8}, at::TensorOptions(kCuda)).t()), c10::Error);
}

}  // namespace
}  // namespace gspo::engine
