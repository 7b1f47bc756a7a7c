// Two PolicyLearners (two Gloo ranks in two threads), each on its half of a step's groups, take
// the optimizer steps one PolicyLearner takes on all of them: same adapters, same metrics.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <iostream>
#include <thread>

#include "tests/fakes/temp_dir.h"
#include "worker/engine/dist/gloo_communicator.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/engine/train/token_logprobs.h"

namespace gspo::engine {
namespace {

constexpr std::int64_t kGroups = 4, kGroupSize = 2, kLength = 7;

struct Learner {
  std::unique_ptr<DecoderModel> model;
  std::unique_ptr<LoraAdapters> adapters;
  std::unique_ptr<AdamW> optimizer;
};

// The llama test model with an adapter whose B is non-zero (so every gradient is), identical
// in every call.
Learner MakeLearner() {
  Learner l;
  auto model = DecoderModel::Load(std::string(GSPO_SOURCE_DIR) + "/tests/data/models/llama",
                                  at::kFloat, at::kCPU);
  EXPECT_TRUE(model.ok()) << model.status();
  l.model = std::move(*model);
  LoraConfig lora;
  lora.r = 4;
  lora.alpha = 16;
  auto adapters = LoraAdapters::Attach(l.model.get(), lora);
  EXPECT_TRUE(adapters.ok()) << adapters.status();
  l.adapters = std::move(*adapters);
  c10::NoGradGuard no_grad;
  std::int64_t k = 0;
  for (auto& [name, p] : l.adapters->NamedParameters()) {
    p.copy_(
        at::sin(at::arange(p.numel(), at::kFloat).view_as(p) * 0.37 + static_cast<double>(++k)) *
        0.05);
  }
  l.optimizer = std::make_unique<AdamW>(l.adapters->Parameters(), AdamWConfig{});
  return l;
}

// Groups x group size sequences: a shared prompt per group, sampled tokens after it, the
// sampler's log-probs slightly off the model's (so the ratios move), rewards that differ.
TrainBatch MakeBatch(DecoderModel& model) {
  TrainBatch b;
  const std::int64_t n = kGroups * kGroupSize;
  b.ids = (at::arange(n * kLength, at::kLong).view({n, kLength}) * 7 + 3) % 90 + 3;
  b.valid = at::ones({n, kLength}, at::kBool);
  b.valid[3].narrow(0, 5, 2).fill_(false);  // one shorter sequence
  b.assistant_mask = at::zeros({n, kLength}, at::kBool);
  b.assistant_mask.narrow(1, 3, 4).fill_(true);
  b.rewards = at::tensor({1.0f, 0.0f, 0.2f, 0.9f, 0.5f, 0.5f, 0.3f, 0.8f});
  b.group_size = kGroupSize;
  c10::NoGradGuard no_grad;
  at::Tensor hidden = model.Hidden({b.ids, {}, b.valid});
  at::Tensor mask = b.assistant_mask.logical_and(b.valid);
  b.old_logp = ComputeTokenLogProbs(model, hidden, b.ids, mask, 1.0).logp +
               0.01 * at::cos(at::arange(n * kLength, at::kFloat).view({n, kLength})) * mask;
  return b;
}

// The sequences of `groups`, in that order.
TrainBatch Rows(const TrainBatch& b, const std::vector<std::int64_t>& groups) {
  std::vector<std::int64_t> rows;
  for (std::int64_t g : groups) {
    for (std::int64_t i = 0; i < kGroupSize; ++i) rows.push_back(g * kGroupSize + i);
  }
  const at::Tensor index = at::tensor(rows, at::kLong);
  TrainBatch s = b;
  s.ids = b.ids.index_select(0, index);
  s.valid = b.valid.index_select(0, index);
  s.assistant_mask = b.assistant_mask.index_select(0, index);
  s.old_logp = b.old_logp.index_select(0, index);
  s.rewards = b.rewards.index_select(0, index);
  return s;
}

LearnerConfig Config() {
  LearnerConfig c;
  c.minibatches = 2;
  c.num_iterations = 2;
  c.micro_batch = 1;
  c.loss.clip_range_left = 0.004;  // narrow: the later updates clip some sequences
  c.loss.clip_range_right = 0.004;
  return c;
}

TEST(DataParallelLearner, TwoRanksTakeTheStepsOfOneRank) {
  Learner whole = MakeLearner();
  const TrainBatch batch = MakeBatch(*whole.model);
  PolicyLearner one(whole.model.get(), whole.adapters.get(), whole.optimizer.get(), Config());
  const auto lr = [](std::int64_t) { return 1e-2; };
  auto expected = one.Learn(batch, lr);
  ASSERT_TRUE(expected.ok()) << expected.status();

  // Minibatch k holds groups {2k, 2k+1}: rank 0 runs groups 0 and 2, rank 1 groups 1 and 3.
  const std::vector<std::vector<std::int64_t>> shards = {{0, 2}, {1, 3}};
  std::vector<Learner> ranks;
  for (int r = 0; r < 2; ++r) ranks.push_back(MakeLearner());
  std::vector<common::StatusOr<LearnMetrics>> results(2, common::InternalError("did not run"));
  gspo::testing::ScopedTempDir dir;
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      GlooOptions options;
      options.store_path = dir.Join("store");
      options.rank = r;
      options.world_size = 2;
      options.timeout = std::chrono::seconds(60);
      auto communicator = CreateGlooCommunicator(options);
      ASSERT_TRUE(communicator.ok()) << communicator.status();
      PolicyLearner learner(ranks[r].model.get(), ranks[r].adapters.get(), ranks[r].optimizer.get(),
                            Config(), communicator->get());
      results[r] = learner.Learn(Rows(batch, shards[r]), lr);
    });
  }
  for (std::thread& t : threads) t.join();

  const auto reference = whole.adapters->NamedParameters();
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(results[r].ok()) << results[r].status();
    double difference = 0, moved = 0;
    for (const auto& [name, p] : ranks[r].adapters->NamedParameters()) {
      difference = std::max(difference, (p - reference.at(name)).abs().max().item<double>());
    }
    for (const auto& [name, p] : MakeLearner().adapters->NamedParameters()) {
      moved = std::max(moved, (p - reference.at(name)).abs().max().item<double>());
    }
    std::cout << "rank " << r << ": max |adapter - one rank's| = " << difference
              << "; the updates moved it by up to " << moved << "\n";
    EXPECT_GT(moved, 1e-3);  // the updates changed the adapter
    EXPECT_LE(difference, 1e-6) << "rank " << r;
    const LearnMetrics& m = *results[r];
    EXPECT_EQ(m.updates, expected->updates);
    EXPECT_EQ(m.tokens_trained, expected->tokens_trained);
    EXPECT_EQ(m.zero_advantage_groups, expected->zero_advantage_groups);
    EXPECT_NEAR(m.loss, expected->loss, 1e-6);
    EXPECT_NEAR(m.grad_norm, expected->grad_norm, 1e-5 * expected->grad_norm);
    EXPECT_NEAR(m.clip_fraction, expected->clip_fraction, 1e-9);
    EXPECT_NEAR(m.ratio_mean, expected->ratio_mean, 1e-6);
    EXPECT_NEAR(m.ratio_min, expected->ratio_min, 1e-6);
    EXPECT_NEAR(m.ratio_max, expected->ratio_max, 1e-6);
    EXPECT_NEAR(m.advantage_std, expected->advantage_std, 1e-6);
    EXPECT_NEAR(m.entropy, expected->entropy, 1e-5);
    EXPECT_NEAR(m.logprob_mismatch, expected->logprob_mismatch, 1e-7);
  }
  EXPECT_GT(expected->clip_fraction, 0);  // the comparison covers clipped updates too
}

}  // namespace
}  // namespace gspo::engine
