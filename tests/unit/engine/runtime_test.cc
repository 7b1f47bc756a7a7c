#include "worker/engine/runtime.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "worker/engine/torch_compat.h"

namespace gspo::engine {
namespace {

TEST(Runtime, UsesEveryUsableCoreByDefault) {
  const RuntimeInfo info = ConfigureRuntime();
  EXPECT_EQ(info.intra_op_threads, UsableCores());
  EXPECT_FALSE(info.torch_version.empty());
}

TEST(Runtime, HonoursAnExplicitThreadCount) {
  EXPECT_EQ(ConfigureRuntime(1).intra_op_threads, 1);
  EXPECT_EQ(ConfigureRuntime().intra_op_threads, UsableCores());
}

// A worked example: one query, two keys. Scores q.k / sqrt(2) = [0, 1/sqrt(2)]; softmax weights
// w = [1, e^0.70711] / (1 + e^0.70711) = [0.330238, 0.669762]; output = w0 * v0 + w1 * v1.
TEST(TorchCompat, ScaledDotProductAttentionMatchesHandComputation) {
  at::Tensor q = at::tensor({0.0f, 1.0f}).reshape({1, 1, 1, 2});
  at::Tensor k = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).reshape({1, 1, 2, 2});
  at::Tensor v = at::tensor({10.0f, 0.0f, 0.0f, 20.0f}).reshape({1, 1, 2, 2});
  at::Tensor out = compat::ScaledDotProductAttention(q, k, v, c10::nullopt, false);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{1, 1, 1, 2}));
  EXPECT_NEAR(out[0][0][0][0].item<float>(), 10.0f * 0.330238f, 1e-4);
  EXPECT_NEAR(out[0][0][0][1].item<float>(), 20.0f * 0.669762f, 1e-4);
}

// Causal masking: with two queries, the first may only see the first key.
TEST(TorchCompat, CausalAttentionHidesLaterKeys) {
  at::Tensor q = at::zeros({1, 1, 2, 2});
  at::Tensor k = at::zeros({1, 1, 2, 2});
  at::Tensor v = at::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({1, 1, 2, 2});
  at::Tensor out = compat::ScaledDotProductAttention(q, k, v, c10::nullopt, true);
  EXPECT_FLOAT_EQ(out[0][0][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(out[0][0][0][1].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(out[0][0][1][0].item<float>(), 2.0f);  // mean of 1 and 3
  EXPECT_FLOAT_EQ(out[0][0][1][1].item<float>(), 3.0f);  // mean of 2 and 4
}

}  // namespace
}  // namespace gspo::engine
