// Learning with each group's prompt run once (prompt_sharing.h) against full rows: the plan on a
// hand-built batch, and log-probs, entropies, gradients (with and without checkpointed layers)
// and a whole learning phase equal to the full pass (CPU, float32), on a model with
// sliding-window layers and on ones without.
#include "worker/engine/train/prompt_sharing.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "tests/unit/engine/test_device.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";
const at::Device kDevice = test_support::kTestDevice;  // CUDA in gspo_gpu_training_nodes_test

std::vector<std::int64_t> Values(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).to(at::kLong).contiguous();
  return std::vector<std::int64_t>(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel());
}

// Two groups of three rows, 30 positions: a 20-token prompt per group (the second left-padded
// by 2), then each row's own completion, trained from position 22 on.
struct Batch {
  at::Tensor ids, valid, mask;
};
Batch TwoGroups(std::int64_t vocab) {
  at::manual_seed(3);
  Batch b;
  b.ids = at::randint(3, vocab, {6, 30}, at::kLong);
  b.valid = at::ones({6, 30}, at::kBool);
  for (std::int64_t r = 0; r < 6; ++r) {
    const std::int64_t leader = r < 3 ? 0 : 3;
    b.ids[r].narrow(0, 0, 22).copy_(b.ids[leader].narrow(0, 0, 22));
  }
  b.ids.narrow(0, 3, 3).narrow(1, 0, 2).fill_(0);
  b.valid.narrow(0, 3, 3).narrow(1, 0, 2).fill_(false);
  b.mask = at::zeros({6, 30}, at::kBool);
  b.mask.narrow(1, 22, 8).fill_(true);
  return b;
}

TEST(PromptSharing, PlansTheLongestPrefixEveryRowSharesWithItsGroup) {
  Batch b = TwoGroups(100);
  SharedPrefix plan = PlanPromptSharing(b.ids, b.valid, b.mask, 0, 3);
  EXPECT_EQ(plan.prefix, 21);  // the first trained position is 22, and 21 feeds its prediction
  EXPECT_EQ(Values(plan.leaders), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(Values(plan.group_of_row), (std::vector<std::int64_t>{0, 0, 0, 1, 1, 1}));

  // A row that leaves its group's prompt at position 18 shortens the prefix for everyone.
  b.ids[4][18] = (b.ids[3][18].item<std::int64_t>() + 1) % 100;
  EXPECT_EQ(PlanPromptSharing(b.ids, b.valid, b.mask, 0, 3).prefix, 18);
  // So does a row whose padding differs: to 2 positions, below the default minimum of 16.
  Batch padded = TwoGroups(100);
  padded.valid[5][2] = false;
  EXPECT_EQ(PlanPromptSharing(padded.ids, padded.valid, padded.mask, 0, 3).prefix, 0);
  EXPECT_EQ(PlanPromptSharing(padded.ids, padded.valid, padded.mask, 0, 3, 2).prefix, 2);

  // A micro-batch of rows 2..4 of the batch: row 2 ends group 0, rows 3 and 4 start group 1.
  Batch c = TwoGroups(100);
  SharedPrefix cut = PlanPromptSharing(c.ids.narrow(0, 2, 3), c.valid.narrow(0, 2, 3), c.mask.narrow(0, 2, 3), 2, 3);
  EXPECT_EQ(cut.prefix, 21);
  EXPECT_EQ(Values(cut.leaders), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(Values(cut.group_of_row), (std::vector<std::int64_t>{0, 1, 1}));

  // Nothing to share: one row per group, or a prefix below the minimum.
  EXPECT_EQ(PlanPromptSharing(c.ids, c.valid, c.mask, 0, 1).prefix, 0);
  EXPECT_EQ(PlanPromptSharing(c.ids, c.valid, c.mask, 0, 3, 22).prefix, 0);
}

class SharedPrompt : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedPrompt, LogProbsAndGradientsEqualTheFullRows) {
  auto loaded = DecoderModel::Load(kModels + GetParam(), at::kFloat, kDevice);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  DecoderModel& model = **loaded;
  LoraConfig config;
  config.r = 4;
  config.dropout = 0;
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  auto adapters = LoraAdapters::Attach(&model, config);
  ASSERT_TRUE(adapters.ok());
  {
    c10::NoGradGuard no_grad;
    at::manual_seed(4);
    for (at::Tensor p : (*adapters)->Parameters()) p.normal_(0, 0.1);
  }
  const Batch b = TwoGroups(model.config().vocab_size);
  const SharedPrefix plan = PlanPromptSharing(b.ids, b.valid, b.mask, 0, 3);
  ASSERT_EQ(plan.prefix, 21);
  const at::Tensor weights = at::randn({6, 30}).to(kDevice);
  // shared: 0 full rows, 1 the packed pass, 2 the packed pass with checkpointed layers and logits,
  // 3 the packed pass with its attention parts composed (what no soft-cap on CUDA takes), 4 the
  // packed pass with eager attention chosen (on CUDA without a soft-cap: the node instead of
  // the fused kernels), 5 full rows with eager attention chosen.
  const auto run = [&](int shared) {
    for (at::Tensor p : (*adapters)->Parameters()) p.mutable_grad() = at::Tensor();
    ForwardInput input{b.ids, {}, b.valid, true, true};
    input.checkpoint_layers = shared == 2;
    if (shared == 3) ::setenv("GSPO_PACKED_ATTENTION", "0", 1);
    if (shared >= 4) EXPECT_TRUE(model.SetAttentionImplementation(AttentionImplementation::kEager).ok());
    TokenLogProbs out = shared > 0 && shared < 5
                            ? SharedPromptLogProbs(model, input, b.mask, plan, 0.7, 512, shared == 2)
                            : ComputeTokenLogProbs(model, model.Hidden(input), b.ids, b.mask, 0.7);
    ::unsetenv("GSPO_PACKED_ATTENTION");
    EXPECT_TRUE(model.SetAttentionImplementation(AttentionImplementation::kAuto).ok());
    (out.logp * weights).sum().backward();
    std::vector<at::Tensor> grads;
    for (const at::Tensor& p : (*adapters)->Parameters()) grads.push_back(p.grad().to(at::kCPU).clone());
    return std::make_tuple(out.logp.detach().to(at::kCPU), out.entropy.to(at::kCPU), grads);
  };
  const auto [full_logp, full_entropy, full_grads] = run(0);
  EXPECT_GT(full_logp.abs().sum().item<double>(), 1.0);  // something was computed
  for (int shared : {1, 2, 3, 4, 5}) {
    const auto [logp, entropy, grads] = run(shared);
    // Products over the packed positions sum in another order than over the full rows: float32 noise.
    EXPECT_LE((logp - full_logp).abs().max().item<double>(), 3e-5) << GetParam() << " variant " << shared;
    EXPECT_LE((entropy - full_entropy).abs().max().item<double>(), 3e-5) << GetParam() << " variant " << shared;
    ASSERT_EQ(grads.size(), full_grads.size());
    double largest = 0, scale = 0;
    for (std::size_t i = 0; i < grads.size(); ++i) {
      largest = std::max(largest, (grads[i] - full_grads[i]).abs().max().item<double>());
      scale = std::max(scale, full_grads[i].abs().max().item<double>());
    }
    EXPECT_GT(scale, 1e-3);
    EXPECT_LE(largest, 1e-5 * scale) << GetParam() << " variant " << shared;
  }
}

TEST(SharedPrefixHidden, RejectsAPrefixOutsideTheRows) {
  auto loaded = DecoderModel::Load(kModels + "llama", at::kFloat, kDevice);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Batch b = TwoGroups((*loaded)->config().vocab_size);
  SharedPrefix plan = PlanPromptSharing(b.ids, b.valid, b.mask, 0, 3);
  ForwardInput input{b.ids, {}, b.valid};
  c10::NoGradGuard no_grad;
  EXPECT_EQ((*loaded)->SharedPrefixHidden(input, plan).sizes(), (std::vector<std::int64_t>{6, 30 - 21, 48}));
  plan.prefix = 30;
  EXPECT_THROW((*loaded)->SharedPrefixHidden(input, plan), c10::Error);
  plan.prefix = 21;
  plan.group_of_row = plan.group_of_row.narrow(0, 0, 5);
  EXPECT_THROW((*loaded)->SharedPrefixHidden(input, plan), c10::Error);
}

TEST_P(SharedPrompt, ALearningPhaseEqualsTheFullRows) {
  const auto learn = [&](bool share) {
    auto loaded = DecoderModel::Load(kModels + GetParam(), at::kFloat, kDevice);
    EXPECT_TRUE(loaded.ok());
    std::unique_ptr<DecoderModel> model = std::move(*loaded);
    LoraConfig lora;
    lora.r = 4;
    lora.dropout = 0;
    at::manual_seed(5);
    auto adapters = LoraAdapters::Attach(model.get(), lora);
    EXPECT_TRUE(adapters.ok());
    {
      c10::NoGradGuard no_grad;
      for (at::Tensor p : (*adapters)->Parameters()) p.normal_(0, 0.05);
    }
    std::vector<at::Tensor> before;
    for (const at::Tensor& p : (*adapters)->Parameters()) before.push_back(p.detach().to(at::kCPU).clone());
    // eps 1: updates proportional to the gradients, so float32 noise in a near-zero gradient
    // cannot be turned into a whole step of either sign, as Adam's normalisation would.
    AdamWConfig adamw;
    adamw.eps = 1.0;
    AdamW optimizer((*adapters)->Parameters(), adamw);
    LearnerConfig config;
    config.micro_batch = 4;  // rows 0-3 (group 0 and the first row of group 1), then 4-5
    config.num_iterations = 2;
    config.loss.clip_range_left = 0.2;
    config.loss.clip_range_right = 0.2;
    config.share_prompts = share;
    config.gradient_checkpointing = share && GetParam() == "gemma2";  // the packed pass checkpointed too
    PolicyLearner learner(model.get(), adapters->get(), &optimizer, config);
    const Batch b = TwoGroups(model->config().vocab_size);
    TrainBatch batch{b.ids, b.valid, b.mask, {}, at::tensor({1.0f, 0.0f, 0.5f, 0.2f, 0.9f, 0.1f}), 3};
    {
      c10::NoGradGuard no_grad;
      batch.old_logp = ComputeTokenLogProbs(*model, model->Hidden({b.ids, {}, b.valid}), b.ids, b.mask, 1.0).logp;
    }
    auto metrics = learner.Learn(batch, [](std::int64_t) { return 1.0; });
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    std::vector<at::Tensor> params;
    double largest_move = 0;
    for (const at::Tensor& p : (*adapters)->Parameters()) {
      const at::Tensor now = p.detach().to(at::kCPU).clone();
      largest_move = std::max(largest_move, (now - before[params.size()]).abs().max().item<double>());
      params.push_back(now);
    }
    return std::make_tuple(params, metrics.ok() ? metrics->loss : 0.0, largest_move);
  };
  const auto [full, full_loss, moved] = learn(false);
  const auto [shared, shared_loss, shared_moved] = learn(true);
  ASSERT_EQ(full.size(), shared.size());
  double largest = 0;
  for (std::size_t i = 0; i < full.size(); ++i) largest = std::max(largest, (full[i] - shared[i]).abs().max().item<double>());
  EXPECT_GT(moved, 1e-3) << GetParam();  // the phase changed the adapters
  EXPECT_LE(largest, 1e-6) << GetParam();
  EXPECT_NEAR(shared_loss, full_loss, 1e-6) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Architectures, SharedPrompt, ::testing::Values("gemma2", "llama", "qwen3"));

}  // namespace
}  // namespace gspo::engine
