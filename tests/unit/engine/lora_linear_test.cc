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

// StackedAdaptedLinear against one AdaptedLinear per part: three parts of different widths,
// ranks and scales (q, k, v), with and without a bias, with x needing no gradient, and with a
// part whose output the loss leaves out (its gradient undefined). Float64: to rounding; bf16:
// within bf16's precision of the float64 truth, A's and B's gradients float32.
struct StackedCase {
  bool with_bias, x_needs_grad, all_parts_used;
};

struct StackedResult {
  std::vector<at::Tensor> y;
  at::Tensor dx;
  std::vector<at::Tensor> da, db;
};

StackedResult RunStacked(const StackedCase& c, bool stacked, at::ScalarType dtype) {
  constexpr std::int64_t in_features = 10;
  const std::vector<std::int64_t> widths = {8, 4, 4}, ranks = {3, 2, 3};
  const std::vector<double> scales = {0.5, 2.0, 0.5};
  at::manual_seed(17);
  const auto draw = [](std::vector<std::int64_t> shape, at::ScalarType type) {
    return at::randn(shape, at::TensorOptions().dtype(at::kDouble)).to(kDevice, type);
  };
  const at::ScalarType param_type = dtype == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor x = draw({2, 5, in_features}, dtype).requires_grad_(c.x_needs_grad);
  const at::Tensor weight = draw({16, in_features}, dtype);
  const at::Tensor bias = c.with_bias ? draw({16}, dtype) : at::Tensor();
  std::vector<AdapterWeights> adapters;
  std::vector<at::Tensor> probes;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    adapters.push_back({draw({ranks[i], in_features}, param_type).requires_grad_(true),
                        draw({widths[i], ranks[i]}, param_type).requires_grad_(true), scales[i]});
    probes.push_back(draw({2, 5, widths[i]}, at::kDouble));
  }
  std::vector<at::Tensor> y;
  if (stacked) {
    y = StackedAdaptedLinear(x, weight, bias, widths, adapters);
  } else {
    std::int64_t row = 0;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      y.push_back(AdaptedLinear(x, {}, weight.narrow(0, row, widths[i]),
                                c.with_bias ? bias.narrow(0, row, widths[i]) : at::Tensor(), adapters[i].a,
                                adapters[i].b, adapters[i].scale));
      row += widths[i];
    }
  }
  at::Tensor loss = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(kDevice));
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (c.all_parts_used || i != 1) loss = loss + (y[i].to(at::kDouble) * probes[i]).sum();
  }
  loss.backward();
  StackedResult out;
  for (std::size_t i = 0; i < y.size(); ++i) {
    out.y.push_back(y[i].detach());
    out.da.push_back(adapters[i].a.grad());
    out.db.push_back(adapters[i].b.grad());
  }
  out.dx = x.grad();
  return out;
}

const std::vector<StackedCase>& StackedCases() {
  static const std::vector<StackedCase> cases = {
      {false, true, true}, {true, true, true}, {false, false, true}, {true, true, false}};
  return cases;
}

TEST(StackedAdaptedLinear, EqualsOneNodePerPartInFloat64) {
  for (std::size_t c = 0; c < StackedCases().size(); ++c) {
    const StackedResult got = RunStacked(StackedCases()[c], true, at::kDouble);
    const StackedResult want = RunStacked(StackedCases()[c], false, at::kDouble);
    ExpectClose(got.dx, want.dx, 1e-12, Name(c) + " dx");
    for (std::size_t i = 0; i < want.y.size(); ++i) {
      const std::string part = Name(c) + " part " + std::to_string(i);
      ExpectClose(got.y[i], want.y[i], 1e-12, part + " y");
      ExpectClose(got.da[i], want.da[i], 1e-12, part + " dA");
      ExpectClose(got.db[i], want.db[i], 1e-12, part + " dB");
    }
  }
}

TEST(StackedAdaptedLinear, StaysWithinBf16PrecisionOfTheTruth) {
  for (std::size_t c = 0; c < StackedCases().size(); ++c) {
    const StackedResult truth = RunStacked(StackedCases()[c], false, at::kDouble);
    const StackedResult got = RunStacked(StackedCases()[c], true, at::kBFloat16);
    if (truth.dx.defined()) ExpectClose(got.dx.to(at::kDouble), truth.dx, 3e-2, Name(c) + " dx");
    for (std::size_t i = 0; i < truth.y.size(); ++i) {
      const std::string part = Name(c) + " part " + std::to_string(i);
      ExpectClose(got.y[i].to(at::kDouble), truth.y[i], 3e-2, part + " y");
      ASSERT_EQ(got.db[i].defined(), truth.db[i].defined()) << part;
      if (!truth.db[i].defined()) continue;  // the part the loss leaves out
      EXPECT_EQ(got.da[i].scalar_type(), at::kFloat) << part;
      EXPECT_EQ(got.db[i].scalar_type(), at::kFloat) << part;
      ExpectClose(got.da[i].to(at::kDouble), truth.da[i], 3e-2, part + " dA");
      ExpectClose(got.db[i].to(at::kDouble), truth.db[i], 3e-2, part + " dB");
    }
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
