// GSPO objective against hand-computed tables (GSPO.md).
#include "worker/engine/train/gspo_loss.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace gspo::engine {
namespace {

TEST(GroupAdvantages, NormalisesEachGroupWithPopulationStd) {
  // Group [1, 2]: mean 1.5, population std 0.5 -> (-0.5, 0.5) / (0.5 + 1e-6).
  // Group [3, 3, ...]: all equal -> 0, counted as a zero-advantage group.
  GroupAdvantages a = ComputeGroupAdvantages(at::tensor({1.0f, 2.0f, 3.0f, 3.0f}), 2);
  EXPECT_NEAR(a.advantages[0].item<float>(), -0.5 / 0.500001, 1e-6);
  EXPECT_NEAR(a.advantages[1].item<float>(), 0.5 / 0.500001, 1e-6);
  EXPECT_EQ(a.advantages[2].item<float>(), 0.0f);
  EXPECT_EQ(a.advantages[3].item<float>(), 0.0f);
  EXPECT_EQ(a.zero_advantage_groups, 1);
}

TEST(GroupAdvantages, ThreeMembers) {
  // [0, 0, 3]: mean 1, population std sqrt(2) -> (-1, -1, 2) / sqrt(2).
  GroupAdvantages a = ComputeGroupAdvantages(at::tensor({0.0f, 0.0f, 3.0f}), 3);
  EXPECT_NEAR(a.advantages[2].item<float>(), 2 / std::sqrt(2.0), 1e-5);
  EXPECT_NEAR(a.advantages[0].item<float>(), -1 / std::sqrt(2.0), 1e-5);
}

struct Case {
  at::Tensor logp, old_logp, mask, adv;
};

// Sequence 0: every token's log-ratio is +0.003, so log s = 0.003, s = 1.0030045 > 1 + 4e-4;
// A = +1: the clipped branch min(s, 1.0004) = 1.0004 wins and gives no gradient.
// Sequence 1: log-ratios -0.0001, 0, -0.0002 over 3 tokens: log s = -0.0001, s = 0.99990000;
// A = -1: inside the clip range, the objective is -s, and d(-J)/d logp_t = s / (2 * 3).
Case TwoSequences() {
  at::Tensor old_logp = at::tensor({-1.0f, -2.0f, -0.5f, -0.7f, -1.1f, -0.3f}).view({2, 3});
  at::Tensor delta = at::tensor({0.003f, 0.003f, 0.003f, -0.0001f, 0.0f, -0.0002f}).view({2, 3});
  at::Tensor logp = (old_logp + delta).clone().set_requires_grad(true);
  return {logp, old_logp, at::ones({2, 3}), at::tensor({1.0f, -1.0f})};
}

TEST(GspoLoss, ValueGradientAndClipOnEachSide) {
  Case c = TwoSequences();
  GspoLossConfig config;  // 3e-4 / 4e-4
  GspoLossOutput out = ComputeGspoLoss({c.logp, c.old_logp, {}, c.mask, c.adv}, config);
  const double s1 = std::exp(-0.0001);
  EXPECT_NEAR(out.loss.item<double>(), -(1.0004 - s1) / 2, 1e-7);
  out.loss.backward();
  at::Tensor g = c.logp.grad();
  for (int t = 0; t < 3; ++t) EXPECT_EQ(g[0][t].item<float>(), 0.0f) << t;
  for (int t = 0; t < 3; ++t) EXPECT_NEAR(g[1][t].item<float>(), s1 / 6, 1e-6) << t;
  EXPECT_DOUBLE_EQ(out.metrics.clip_fraction_high, 0.5);
  EXPECT_DOUBLE_EQ(out.metrics.clip_fraction_low, 0.0);
  EXPECT_NEAR(out.metrics.ratio_max, std::exp(0.003), 1e-6);
}

TEST(GspoLoss, LowSideClipForNegativeAdvantage) {
  // log s = -0.001 < log(1 - 3e-4): with A = -1 the objective is min(-s, -(1 - 3e-4)) =
  // -(0.9997) and the gradient vanishes; the sequence counts as clipped low.
  at::Tensor old_logp = at::zeros({1, 2});
  at::Tensor logp = at::full({1, 2}, -0.001f).set_requires_grad(true);
  GspoLossOutput out = ComputeGspoLoss({logp, old_logp, {}, at::ones({1, 2}), at::tensor({-1.0f})}, {});
  EXPECT_NEAR(out.loss.item<double>(), 0.9997, 1e-7);
  out.loss.backward();
  EXPECT_EQ(logp.grad().abs().sum().item<float>(), 0.0f);
  EXPECT_DOUBLE_EQ(out.metrics.clip_fraction_low, 1.0);
}

TEST(GspoLoss, MaskedTokensCountNeitherInTheSumNorTheLength) {
  // Token 1 is masked: log s = (0.0002 + 0.0004) / 2 = 0.0003, A = 2 -> loss = -2 * e^0.0003.
  at::Tensor logp = at::tensor({0.0002f, 5.0f, 0.0004f}).view({1, 3}).set_requires_grad(true);
  GspoLossOutput out = ComputeGspoLoss(
      {logp, at::zeros({1, 3}), {}, at::tensor({1.0f, 0.0f, 1.0f}).view({1, 3}), at::tensor({2.0f})}, {});
  EXPECT_NEAR(out.loss.item<double>(), -2 * std::exp(0.0003), 1e-6);
  out.loss.backward();
  EXPECT_EQ(logp.grad()[0][1].item<float>(), 0.0f);
}

TEST(GspoLoss, ZeroAdvantagesGiveZeroLossAndGradient) {
  Case c = TwoSequences();
  GspoLossOutput out = ComputeGspoLoss({c.logp, c.old_logp, {}, c.mask, at::zeros({2})}, {});
  EXPECT_EQ(out.loss.item<float>(), 0.0f);
  out.loss.backward();
  EXPECT_EQ(c.logp.grad().abs().sum().item<float>(), 0.0f);
}

TEST(GspoLoss, HugeLogRatioIsClampedNotInfinite) {
  at::Tensor logp = at::full({1, 1}, 100.0f).set_requires_grad(true);
  GspoLossOutput out = ComputeGspoLoss({logp, at::zeros({1, 1}), {}, at::ones({1, 1}), at::tensor({-1.0f})}, {});
  EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
  EXPECT_NEAR(out.metrics.ratio_max, std::exp(20.0), std::exp(20.0) * 1e-6);
}

TEST(GspoLoss, TokenVariantEqualsSequenceVariantWithSequenceAdvantages) {
  at::manual_seed(3);
  at::Tensor old_logp = -at::rand({3, 5});
  at::Tensor delta = (at::rand({3, 5}) - 0.5) * 2e-3;
  at::Tensor mask = (at::rand({3, 5}) > 0.3).to(at::kFloat);
  mask.select(1, 0).fill_(1);
  at::Tensor adv = at::tensor({1.5f, -0.7f, 0.2f});
  at::Tensor a = (old_logp + delta).clone().set_requires_grad(true);
  at::Tensor b = (old_logp + delta).clone().set_requires_grad(true);
  GspoLossConfig seq, tok;
  tok.token_level = true;
  GspoLossOutput out_seq = ComputeGspoLoss({a, old_logp, {}, mask, adv}, seq);
  GspoLossOutput out_tok = ComputeGspoLoss({b, old_logp, {}, mask, adv}, tok);
  EXPECT_NEAR(out_seq.loss.item<double>(), out_tok.loss.item<double>(), 1e-6);
  out_seq.loss.backward();
  out_tok.loss.backward();
  EXPECT_TRUE(at::allclose(a.grad(), b.grad(), 1e-5, 1e-7)) << a.grad() << b.grad();
}

TEST(GspoLoss, KlPenaltyIsTheK3EstimatorAveragedPerSequence) {
  // ref - cur = 0.1 and -0.2: k3 = e^d - d - 1 = 0.0051709 and 0.0187308; mean 0.0119508.
  // With A = 0 the loss is beta * KL.
  at::Tensor logp = at::tensor({-1.0f, -1.0f}).view({1, 2}).set_requires_grad(true);
  at::Tensor ref = at::tensor({-0.9f, -1.2f}).view({1, 2});
  GspoLossConfig config;
  config.beta = 0.5;
  GspoLossOutput out = ComputeGspoLoss({logp, logp.detach(), ref, at::ones({1, 2}), at::zeros({1})}, config);
  EXPECT_NEAR(out.metrics.kl, 0.0119508356, 1e-7);
  EXPECT_NEAR(out.loss.item<double>(), 0.5 * 0.0119508356, 1e-7);
}

}  // namespace
}  // namespace gspo::engine
