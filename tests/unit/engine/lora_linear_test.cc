// AdaptedLinear (one autograd node) against the same function written as LibTorch ops and
// differentiated by LibTorch's autograd: outputs and the gradients of x, the adapter's input, A
// and B, in float64 (agreement to rounding) and bf16 (to bf16 tolerance). Built for the CPU
// (gspo_engine_test) and, with GSPO_TEST_ON_CUDA, for the GPU (tests/gpu).
#include "worker/engine/model/lora_linear.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "tests/unit/engine/test_device.h"

namespace gspo::engine {
namespace {

const at::Device kDevice = test_support::kTestDevice;

struct Case {
  bool with_weight, with_bias, separate_input, x_needs_grad;
  std::vector<std::int64_t> batch;  // leading dimensions of x
};

struct Result {
  at::Tensor y, dx, din, da, db;
};

// The loss is <y, probe> with a non-contiguous probe, so backward sees a strided gradient.
Result RunCase(const Case& c, bool fused, at::ScalarType dtype) {
  constexpr std::int64_t in_features = 12, out_features = 7, r = 3;
  constexpr double scale = 0.75;
  at::manual_seed(11);
  std::vector<std::int64_t> x_shape = c.batch;
  x_shape.push_back(in_features);
  std::vector<std::int64_t> y_shape = c.batch;
  y_shape.push_back(out_features);
  // Drawn in float64 and cast, so that every dtype sees the same values.
  const auto draw = [](std::vector<std::int64_t> shape, at::ScalarType type) {
    return at::randn(shape, at::TensorOptions().dtype(at::kDouble)).to(kDevice, type);
  };
  // Float32 parameters, as LoraAdapter keeps them (float64 runs keep them in float64).
  const at::ScalarType param_type = dtype == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor x = draw(x_shape, dtype).requires_grad_(c.x_needs_grad);
  at::Tensor in = draw(x_shape, dtype).requires_grad_(true);
  if (!c.separate_input) in = at::Tensor();
  at::Tensor weight = draw({out_features, in_features}, dtype);
  if (!c.with_weight) weight = at::Tensor();
  at::Tensor bias = draw({out_features}, dtype);
  if (!c.with_bias) bias = at::Tensor();
  at::Tensor a = draw({r, in_features}, param_type).requires_grad_(true);
  at::Tensor b = draw({out_features, r}, param_type).requires_grad_(true);
  std::vector<std::int64_t> probe_shape(y_shape.rbegin(), y_shape.rend());
  std::vector<std::int64_t> reverse_order(probe_shape.size());
  for (std::size_t i = 0; i < reverse_order.size(); ++i) {
    reverse_order[i] = static_cast<std::int64_t>(reverse_order.size() - 1 - i);
  }
  const at::Tensor probe = draw(probe_shape, at::kDouble).permute(reverse_order);

  at::Tensor y;
  if (fused) {
    y = AdaptedLinear(x, in, weight, bias, a, b, scale);
  } else {
    const at::Tensor adapter_input = in.defined() ? in : x;
    y = at::linear(at::linear(adapter_input, a.to(dtype)), b.to(dtype)) * scale;
    if (weight.defined()) y = y + at::linear(x, weight, bias);
  }
  (y.to(at::kDouble) * probe).sum().backward();
  Result out{y.detach(), x.grad(), in.defined() ? in.grad() : at::Tensor(), a.grad(), b.grad()};
  return out;
}

void ExpectClose(const at::Tensor& got, const at::Tensor& want, double tolerance, const std::string& what) {
  ASSERT_EQ(got.defined(), want.defined()) << what;
  if (!want.defined()) return;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_EQ(got.scalar_type(), want.scalar_type()) << what;
  const double scale = want.to(at::kDouble).abs().max().item<double>() + 1e-30;
  EXPECT_LE((got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>() / scale, tolerance) << what;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {true, true, false, true, {2, 5}},    // a projection with bias, over [B, T, E]
      {true, false, false, true, {9}},      // no bias, rows only
      {true, false, true, true, {2, 3}},    // the adapter reads its own input (dropout)
      {false, false, false, true, {4, 2}},  // the adapter term alone (a quantized base adds its own)
      {false, false, true, true, {6}},      // ... with its own input
      {true, true, false, false, {3, 4}},   // x needs no gradient (the first layer's input)
  };
  return cases;
}

std::string Name(std::size_t i) { return "case " + std::to_string(i); }

TEST(AdaptedLinear, EqualsTheComposedOpsAndTheirGradientsInFloat64) {
  for (std::size_t i = 0; i < Cases().size(); ++i) {
    const Result fused = RunCase(Cases()[i], true, at::kDouble);
    const Result composed = RunCase(Cases()[i], false, at::kDouble);
    ExpectClose(fused.y, composed.y, 1e-12, Name(i) + " y");
    ExpectClose(fused.dx, composed.dx, 1e-12, Name(i) + " dx");
    ExpectClose(fused.din, composed.din, 1e-12, Name(i) + " din");
    ExpectClose(fused.da, composed.da, 1e-12, Name(i) + " dA");
    ExpectClose(fused.db, composed.db, 1e-12, Name(i) + " dB");
  }
}

// In bf16 the two round at different points (the fused node scales x A^T before rounding it
// once and adds the adapter inside the base product); both stay within bf16's precision of
// the float64 truth, and A's and B's gradients are float32, as their parameters.
TEST(AdaptedLinear, StaysWithinBf16PrecisionOfTheTruth) {
  for (std::size_t i = 0; i < Cases().size(); ++i) {
    const Result truth = RunCase(Cases()[i], false, at::kDouble);
    const Result fused = RunCase(Cases()[i], true, at::kBFloat16);
    ExpectClose(fused.y.to(at::kDouble), truth.y, 3e-2, Name(i) + " y");
    if (truth.dx.defined()) ExpectClose(fused.dx.to(at::kDouble), truth.dx, 3e-2, Name(i) + " dx");
    if (truth.din.defined()) ExpectClose(fused.din.to(at::kDouble), truth.din, 3e-2, Name(i) + " din");
    ASSERT_TRUE(fused.da.defined() && fused.db.defined()) << Name(i);
    EXPECT_EQ(fused.da.scalar_type(), at::kFloat) << Name(i);
    EXPECT_EQ(fused.db.scalar_type(), at::kFloat) << Name(i);
    ExpectClose(fused.da.to(at::kDouble), truth.da, 3e-2, Name(i) + " dA");
    ExpectClose(fused.db.to(at::kDouble), truth.db, 3e-2, Name(i) + " dB");
  }
}

// Without gradients (generation's prefill), the node runs its forward alone.
TEST(AdaptedLinear, RunsWithoutGradients) {
  at::manual_seed(3);
  const auto opts = at::TensorOptions().device(kDevice);
  const at::Tensor x = at::randn({2, 4, 6}, opts), w = at::randn({5, 6}, opts), a = at::randn({2, 6}, opts),
                   b = at::randn({5, 2}, opts);
  c10::NoGradGuard no_grad;
  const at::Tensor y = AdaptedLinear(x, {}, w, {}, a, b, 2.0);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(at::allclose(y, at::linear(x, w) + at::linear(at::linear(x, a), b) * 2.0, 1e-5, 1e-5));
}

}  // namespace
}  // namespace gspo::engine
