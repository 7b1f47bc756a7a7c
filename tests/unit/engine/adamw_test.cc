// AdamW over several steps against LibTorch's own torch::optim::AdamW and a closed form;
// state offload as a no-op on the CPU; checkpoint state that resumes exactly; one-sync
// gradient clipping. tests/gpu/adamw_gpu_test.cc checks the offload itself on a GPU.
#include "worker/engine/train/adamw.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace gspo::engine {
namespace {

constexpr double kLr[] = {0.1, 0.05, 0.02};  // a different learning rate at each step

// Deterministic, sign-changing gradients of `p`'s shape for step k.
at::Tensor GradAt(const at::Tensor& p, int k) {
  return at::sin(at::arange(p.numel(), p.options().requires_grad(false)) * 0.7 + k)
      .view(p.sizes())
      .clone();
}

std::vector<at::Tensor> MakeParams(at::ScalarType dtype) {
  const auto options = at::TensorOptions().dtype(dtype);
  return {at::linspace(-1, 1, 6, options).view({2, 3}).set_requires_grad(true),
          at::full({4}, 0.25, options).set_requires_grad(true)};
}

std::vector<at::Tensor> Clone(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& p : params) out.push_back(p.detach().clone().set_requires_grad(true));
  return out;
}

void StepWithGrads(AdamW& optimizer, const std::vector<at::Tensor>& params, int k) {
  for (const at::Tensor& p : params) p.mutable_grad() = GradAt(p, k);
  optimizer.Step(kLr[k]);
  optimizer.ZeroGrad();
}

// What a checkpoint keeps: copies, not the live buffers.
std::map<std::string, at::Tensor> Snapshot(const AdamW& optimizer) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, tensor] : optimizer.State()) out[name] = tensor.clone();
  return out;
}

TEST(AdamW, ThreeStepsMatchTorchOptimAdamW) {
  const AdamWConfig config{0.9, 0.999, 1e-8, 0.01};
  std::vector<at::Tensor> ours = MakeParams(at::kDouble);
  std::vector<at::Tensor> theirs = Clone(ours);
  AdamW optimizer(ours, config);
  torch::optim::AdamW reference(
      theirs, torch::optim::AdamWOptions(kLr[0]).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.01));
  for (int k = 0; k < 3; ++k) {
    StepWithGrads(optimizer, ours, k);
    for (const at::Tensor& p : theirs) p.mutable_grad() = GradAt(p, k);
    static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options()).lr(kLr[k]);
    reference.step();
    reference.zero_grad();
  }
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_GT((ours[i] - MakeParams(at::kDouble)[i]).abs().min().item<double>(), 1e-3);  // moved
    EXPECT_TRUE(at::allclose(ours[i], theirs[i], 0, 1e-14)) << ours[i] << theirs[i];
  }
}

TEST(AdamW, ConstantGradientMovesByLrEachStep) {
  // With g constant the bias-corrected moments are g and g^2, so each step is
  // p <- p (1 - lr wd) - lr g / (|g| + eps): from 1 with g = 0.5, wd = 0.01.
  at::Tensor p = at::ones({1}, at::kDouble).set_requires_grad(true);
  AdamW optimizer({p}, {0.9, 0.999, 1e-8, 0.01});
  double want = 1;
  for (int k = 0; k < 3; ++k) {
    p.mutable_grad() = at::full({1}, 0.5, at::kDouble);
    optimizer.Step(kLr[k]);
    want = want * (1 - kLr[k] * 0.01) - kLr[k] * 0.5 / (0.5 + 1e-8);
  }
  // Near 1 * 0.999 - 0.1 = 0.899; * 0.9995 - 0.05 = 0.8485505; * 0.9998 - 0.02 = 0.82838079.
  EXPECT_NEAR(want, 0.82838079, 1e-7);
  EXPECT_NEAR(p.item<double>(), want, 1e-12);
  EXPECT_EQ(optimizer.steps(), 3);
}

// On the CPU there is nothing to offload: the option changes nothing, bit for bit.
TEST(AdamW, OffloadIsANoOpOnTheCpu) {
  std::vector<at::Tensor> resident = MakeParams(at::kFloat);
  std::vector<at::Tensor> offloaded = Clone(resident);
  AdamW a(resident, {0.9, 0.999, 1e-8, 0.01, false});
  AdamW b(offloaded, {0.9, 0.999, 1e-8, 0.01, true});
  for (int k = 0; k < 3; ++k) {
    StepWithGrads(a, resident, k);
    StepWithGrads(b, offloaded, k);
  }
  for (std::size_t i = 0; i < resident.size(); ++i) {
    EXPECT_FALSE(b.offloaded(i));
    EXPECT_TRUE(at::equal(resident[i], offloaded[i]));
  }
  const auto state_a = a.State(), state_b = b.State();
  ASSERT_EQ(state_a.size(), 2 * resident.size() + 1);
  for (const auto& [name, tensor] : state_a)
    EXPECT_TRUE(at::equal(tensor, state_b.at(name))) << name;
}

// Resuming from State() after two steps and taking the third gives the bits of three
// uninterrupted steps, whichever way each side keeps its moments.
class AdamWResume : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(AdamWResume, StepAfterLoadStateEqualsUninterruptedStep) {
  const auto [save_offload, load_offload] = GetParam();
  std::vector<at::Tensor> straight = MakeParams(at::kFloat);
  AdamW uninterrupted(straight, {0.9, 0.999, 1e-8, 0.01, save_offload});
  for (int k = 0; k < 3; ++k) StepWithGrads(uninterrupted, straight, k);

  std::vector<at::Tensor> first = MakeParams(at::kFloat);
  AdamW before(first, {0.9, 0.999, 1e-8, 0.01, save_offload});
  for (int k = 0; k < 2; ++k) StepWithGrads(before, first, k);
  const auto saved = Snapshot(before);
  std::vector<at::Tensor> resumed = Clone(first);
  AdamW after(resumed, {0.9, 0.999, 1e-8, 0.01, load_offload});
  after.LoadState(saved);
  EXPECT_EQ(after.steps(), 2);
  StepWithGrads(after, resumed, 2);
  for (std::size_t i = 0; i < straight.size(); ++i)
    EXPECT_TRUE(at::equal(resumed[i], straight[i])) << i;
  const auto want = uninterrupted.State();
  for (const auto& [name, tensor] : after.State())
    EXPECT_TRUE(at::equal(tensor, want.at(name))) << name;
}

INSTANTIATE_TEST_SUITE_P(OffloadOnSaveAndLoad, AdamWResume,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(AdamW, LoadStateRejectsAMomentOfAnotherShape) {
  std::vector<at::Tensor> params = MakeParams(at::kFloat);
  AdamW optimizer(params, {});
  auto state = Snapshot(optimizer);
  state["exp_avg.0"] = at::zeros({3, 2});
  EXPECT_THROW(optimizer.LoadState(state), c10::Error);
}

TEST(ClipGradNorm, SkipsParametersWithoutGradients) {
  at::Tensor a = at::zeros({2}, at::kDouble).set_requires_grad(true);
  at::Tensor b = at::zeros({3}).set_requires_grad(true);
  at::Tensor c = at::zeros({1}).set_requires_grad(true);  // no gradient
  a.mutable_grad() = at::tensor({1.0, 2.0}, at::kDouble);
  b.mutable_grad() = at::tensor({2.0f, 4.0f, 0.0f});
  EXPECT_DOUBLE_EQ(ClipGradNorm({a, b, c}, 0), 5.0);  // sqrt(1 + 4 + 4 + 16); max 0: no clipping
  EXPECT_DOUBLE_EQ(a.grad()[1].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(ClipGradNorm({a, b, c}, 10.0), 5.0);  // under the maximum: unchanged
  EXPECT_DOUBLE_EQ(b.grad()[1].item<float>(), 4.0f);
  EXPECT_DOUBLE_EQ(ClipGradNorm({c}, 1.0), 0.0);
}

TEST(ClipGradNorm, OnTheDeviceReturnsTheNormAsATensorAndClips) {
  at::Tensor a = at::zeros({2}).set_requires_grad(true), b = at::zeros({1}).set_requires_grad(true);
  a.mutable_grad() = at::tensor({3.0f, 0.0f});
  b.mutable_grad() = at::tensor({4.0f});
  const at::Tensor norm = ClipGradNormOnDevice({a, b}, 2.0);
  ASSERT_TRUE(norm.defined());
  EXPECT_EQ(norm.dim(), 0);
  EXPECT_EQ(norm.scalar_type(), at::kDouble);
  EXPECT_DOUBLE_EQ(norm.item<double>(), 5.0);  // before clipping
  EXPECT_NEAR(a.grad()[0].item<float>(), 3.0f * 2.0f / 5.0f, 1e-6);  // scaled to a norm of 2
  EXPECT_NEAR(b.grad()[0].item<float>(), 4.0f * 2.0f / 5.0f, 1e-6);
  EXPECT_NEAR(ClipGradNormOnDevice({a, b}, 3.0).item<double>(), 2.0, 1e-6);  // under 3: unchanged
  EXPECT_NEAR(b.grad()[0].item<float>(), 1.6f, 1e-6);
  at::Tensor c = at::zeros({1}).set_requires_grad(true);
  EXPECT_FALSE(ClipGradNormOnDevice({c}, 1.0).defined());  // no gradient anywhere
}

}  // namespace
}  // namespace gspo::engine
