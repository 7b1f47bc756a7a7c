// LoRA, AdamW, schedules and one learning phase on a tiny model (CPU, float32).
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/function.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/engine/train/token_logprobs.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";

std::unique_ptr<DecoderModel> Load(const std::string& arch) {
  auto model = DecoderModel::Load(kModels + arch, at::kFloat, at::kCPU);
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(*model);
}

TEST(Lora, FreshAdapterLeavesLogitsUnchanged) {
  c10::NoGradGuard no_grad;
  auto model = Load("gemma2");
  at::Tensor ids = at::arange(3, 23).view({2, 10});
  at::Tensor before = model->Forward({ids, {}, {}});
  LoraConfig config;
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  auto adapters = LoraAdapters::Attach(model.get(), config);
  ASSERT_TRUE(adapters.ok()) << adapters.status();
  EXPECT_TRUE(at::equal(model->Forward({ids, {}, {}}), before));  // B = 0
  EXPECT_EQ((*adapters)->Parameters().size(), 4u * 7 * 2);
  // PEFT initialisation: A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0.
  const at::Tensor a = (*adapters)->NamedParameters().at("model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_LE(a.abs().max().item<double>(), 1 / std::sqrt(48.0));
  EXPECT_GT(a.abs().max().item<double>(), 0.5 / std::sqrt(48.0));
}

TEST(Lora, GradientsReachOnlyTheAdaptersAndMergedEqualsAdapter) {
  auto model = Load("qwen2");
  LoraConfig config;
  config.r = 4;
  config.alpha = 8;
  config.target_modules = {"q_proj", "v_proj", "down_proj"};
  auto adapters = LoraAdapters::Attach(model.get(), config);
  ASSERT_TRUE(adapters.ok());
  {
    c10::NoGradGuard no_grad;
    for (at::Tensor p : (*adapters)->Parameters()) p.normal_(0, 0.1);
  }
  at::Tensor ids = at::arange(3, 23).view({2, 10});
  at::Tensor logits = model->Forward({ids, {}, {}});
  logits.sum().backward();
  for (const auto& [name, p] : (*adapters)->NamedParameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0) << name;
  }
  for (const auto& [name, w] : model->NamedWeights()) {
    EXPECT_FALSE(w.requires_grad()) << name;
    EXPECT_FALSE(w.grad().defined()) << name;
  }
  // Folding the adapters into the base weights gives the same logits.
  c10::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> weights = model->NamedWeights();
  for (auto& [name, w] : (*adapters)->MergedWeights()) weights[name] = w;
  auto merged = DecoderModel::FromTensors(model->config(), weights, at::kFloat, at::kCPU, "merged");
  ASSERT_TRUE(merged.ok()) << merged.status();
  at::Tensor with_adapter = model->Forward({ids, {}, {}});
  at::Tensor folded = (*merged)->Forward({ids, {}, {}});
  EXPECT_LE((with_adapter - folded).abs().max().item<double>(), 1e-4);
  // And the adapters-off switch gives the base model.
  at::Tensor base = model->Forward({ids, {}, {}, /*use_adapters=*/false});
  auto plain = DecoderModel::Load(kModels + "qwen2", at::kFloat, at::kCPU);
  EXPECT_TRUE(at::allclose(base, (*plain)->Forward({ids, {}, {}}), 1e-5, 1e-6));
  EXPECT_GT((with_adapter - base).abs().max().item<double>(), 1e-3);
}

TEST(Lora, GradientCheckpointingGivesTheSameGradients) {
  auto model = Load("gemma2");
  LoraConfig config;
  config.r = 4;
  config.dropout = 0.2;  // the recomputation must draw the same dropout masks
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  auto adapters = LoraAdapters::Attach(model.get(), config);
  ASSERT_TRUE(adapters.ok());
  {
    c10::NoGradGuard no_grad;
    for (at::Tensor p : (*adapters)->Parameters()) p.normal_(0, 0.1);
  }
  at::Tensor ids = at::arange(3, 27).view({2, 12});
  at::Tensor weights = at::randn({2, 12, model->config().vocab_size});
  const auto gradients = [&](bool checkpoint, std::uint64_t seed) {
    for (at::Tensor p : (*adapters)->Parameters()) {
      if (p.grad().defined()) p.grad().zero_();
    }
    at::manual_seed(seed);
    ForwardInput input{ids, {}, {}, /*use_adapters=*/true, /*training=*/true};
    input.checkpoint_layers = checkpoint;
    (model->Forward(input) * weights).sum().backward();
    std::vector<at::Tensor> grads;
    for (const at::Tensor& p : (*adapters)->Parameters()) grads.push_back(p.grad().clone());
    return grads;
  };
  const std::vector<at::Tensor> plain = gradients(false, 9), checkpointed = gradients(true, 9),
                                other_draws = gradients(false, 10);
  ASSERT_EQ(plain.size(), checkpointed.size());
  double largest = 0, dropout_effect = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    largest = std::max(largest, (plain[i] - checkpointed[i]).abs().max().item<double>());
    dropout_effect = std::max(dropout_effect, (plain[i] - other_draws[i]).abs().max().item<double>());
  }
  EXPECT_LE(largest, 1e-6);
  EXPECT_GT(dropout_effect, 1e-3);  // the dropout masks matter, so the equality above means something
}

// Nodes of the autograd graph behind `out` whose name contains `needle`.
std::int64_t CountNodes(const at::Tensor& out, const std::string& needle) {
  std::vector<torch::autograd::Node*> pending = {out.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  std::int64_t count = 0;
  while (!pending.empty()) {
    torch::autograd::Node* node = pending.back();
    pending.pop_back();
    if (node == nullptr || !seen.insert(node).second) continue;
    count += node->name().find(needle) != std::string::npos;
    for (const torch::autograd::Edge& edge : node->next_edges()) pending.push_back(edge.function.get());
  }
  return count;
}

// Training's q, k and v through one stacked node (GSPO_STACKED_QKV, on by default) give the
// logits and adapter gradients of one node per projection, and the switch does switch.
TEST(Lora, StackedQkvGivesTheSameLogitsAndGradients) {
  auto model = Load("gemma2");
  LoraConfig config;
  config.r = 4;
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj"};
  auto adapters = LoraAdapters::Attach(model.get(), config);
  ASSERT_TRUE(adapters.ok());
  {
    c10::NoGradGuard no_grad;
    for (at::Tensor p : (*adapters)->Parameters()) p.normal_(0, 0.1);
  }
  const at::Tensor ids = at::arange(3, 27).view({2, 12});
  const at::Tensor weights = at::randn({2, 12, model->config().vocab_size});
  const auto run = [&](const char* stacked) {
    ::setenv("GSPO_STACKED_QKV", stacked, 1);
    for (at::Tensor p : (*adapters)->Parameters()) p.mutable_grad() = at::Tensor();
    const at::Tensor logits = model->Forward({ids, {}, {}, /*use_adapters=*/true, /*training=*/true});
    const std::int64_t nodes = CountNodes(logits, "StackedAdaptedLinear");
    (logits * weights).sum().backward();
    ::unsetenv("GSPO_STACKED_QKV");
    std::vector<at::Tensor> grads;
    for (const at::Tensor& p : (*adapters)->Parameters()) grads.push_back(p.grad().clone());
    return std::make_tuple(logits.detach(), grads, nodes);
  };
  const auto [separate, separate_grads, separate_nodes] = run("0");
  const auto [stacked, stacked_grads, stacked_nodes] = run("1");
  EXPECT_EQ(separate_nodes, 0);
  EXPECT_EQ(stacked_nodes, model->config().num_layers);
  EXPECT_LE((stacked - separate).abs().max().item<double>(), 1e-5);
  ASSERT_EQ(stacked_grads.size(), separate_grads.size());
  for (std::size_t i = 0; i < stacked_grads.size(); ++i) {
    const double scale = separate_grads[i].abs().max().item<double>();
    EXPECT_GT(scale, 0) << "parameter " << i;
    EXPECT_LE((stacked_grads[i] - separate_grads[i]).abs().max().item<double>(), 1e-5 * scale + 1e-7)
        << "parameter " << i;
  }
}

TEST(Lora, SavesThePeftLayout) {
  auto model = Load("llama");
  LoraConfig config;
  config.r = 2;
  config.alpha = 4;
  auto adapters = LoraAdapters::Attach(model.get(), config);
  ASSERT_TRUE(adapters.ok());
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE((*adapters)->SavePeft(dir.Join("adapter"), "meta-llama/Llama-3.2-1B").ok());
  auto file = SafetensorsFile::Open(dir.Join("adapter/adapter_model.safetensors"));
  ASSERT_TRUE(file.ok()) << file.status();
  const TensorView* a = (*file)->Find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<std::int64_t>{2, 48}));
  EXPECT_NE((*file)->Find("base_model.model.model.layers.2.self_attn.o_proj.lora_B.weight"), nullptr);
  auto config_text = common::ReadFileToString(dir.Join("adapter/adapter_config.json"), 1 << 16);
  ASSERT_TRUE(config_text.ok());
  EXPECT_NE(config_text->find("\"peft_type\":\"LORA\""), std::string::npos) << *config_text;
  EXPECT_NE(config_text->find("\"target_modules\":[\"q_proj\",\"k_proj\",\"v_proj\",\"o_proj\"]"),
            std::string::npos);
}

TEST(AdamW, OneStepByHand) {
  // p = 1, g = 0.5, lr 0.1, weight decay 0.01: p <- 0.999; m = 0.05, v = 0.00025;
  // step size lr / (1 - 0.9) = 1; denom = sqrt(0.00025) / sqrt(1 - 0.999) + 1e-8 = 0.5 + 1e-8;
  // p <- 0.999 - 0.05 / 0.50000001 = 0.899000002.
  at::Tensor p = at::ones({1}, at::kDouble).set_requires_grad(true);
  p.mutable_grad() = at::full({1}, 0.5, at::kDouble);
  AdamW optimizer({p}, {0.9, 0.999, 1e-8, 0.01});
  optimizer.Step(0.1);
  EXPECT_NEAR(p.item<double>(), 0.999 - 0.05 / 0.50000001, 1e-12);
}

TEST(ClipGradNorm, ScalesToTheMaximum) {
  at::Tensor a = at::zeros({2}).set_requires_grad(true), b = at::zeros({1}).set_requires_grad(true);
  a.mutable_grad() = at::tensor({3.0f, 0.0f});
  b.mutable_grad() = at::tensor({4.0f});
  EXPECT_DOUBLE_EQ(ClipGradNorm({a, b}, 1.0), 5.0);
  EXPECT_NEAR(a.grad()[0].item<float>(), 0.6f, 1e-6);
  EXPECT_NEAR(b.grad()[0].item<float>(), 0.8f, 1e-6);
}

TEST(Schedule, WarmupThenDecayAsHuggingFace) {
  EXPECT_DOUBLE_EQ(ScheduledLearningRate("cosine", 1.0, 0, 2, 10), 0.0);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate("cosine", 1.0, 1, 2, 10), 0.5);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate("cosine", 1.0, 2, 2, 10), 1.0);
  EXPECT_NEAR(ScheduledLearningRate("cosine", 1.0, 6, 2, 10), 0.5, 1e-12);  // half way
  EXPECT_NEAR(ScheduledLearningRate("linear", 1.0, 6, 2, 10), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate("constant", 1.0, 9, 2, 10), 1.0);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate("linear", 1.0, 10, 2, 10), 0.0);
}

TEST(TokenLogProbs, EqualFullLogSoftmaxAtMaskedPositions) {
  c10::NoGradGuard no_grad;
  auto model = Load("gemma3");
  at::Tensor ids = at::arange(3, 23).view({2, 10});
  at::Tensor mask = at::zeros({2, 10}, at::kBool);
  mask[0].narrow(0, 4, 6).fill_(true);
  mask[1].narrow(0, 1, 3).fill_(true);
  at::Tensor hidden = model->Hidden({ids, {}, {}});
  TokenLogProbs got = ComputeTokenLogProbs(*model, hidden, ids, mask, 0.7, /*chunk_rows=*/4);
  at::Tensor full = at::log_softmax(model->Logits(hidden) / 0.7, -1);
  for (int n = 0; n < 2; ++n) {
    for (int t = 0; t < 10; ++t) {
      const float want = mask[n][t].item<bool>() ? full[n][t - 1][ids[n][t]].item<float>() : 0.0f;
      EXPECT_NEAR(got.logp[n][t].item<float>(), want, 1e-5) << n << "," << t;
    }
  }
}

// Recomputing each chunk's logits in backward (what gradient checkpointing asks for) changes
// only what autograd keeps: log-probs, entropies and the gradient reaching the hidden states are
// those of the direct computation. gemma2 has the final soft-cap in the recomputed part.
TEST(TokenLogProbs, RecomputedLogitsGiveTheSameValuesAndGradients) {
  auto model = Load("gemma2");
  at::Tensor ids = at::arange(3, 23).view({2, 10});
  at::Tensor mask = at::zeros({2, 10}, at::kBool);
  mask[0].narrow(0, 4, 6).fill_(true);
  mask[1].narrow(0, 1, 3).fill_(true);
  at::Tensor base;
  {
    c10::NoGradGuard no_grad;
    base = model->Hidden({ids, {}, {}});
  }
  const auto run = [&](bool recompute) {
    at::Tensor hidden = base.clone().requires_grad_(true);
    TokenLogProbs got = ComputeTokenLogProbs(*model, hidden, ids, mask, 0.7, /*chunk_rows=*/3, recompute);
    // Weights that differ per position, so every row's gradient matters.
    (got.logp * at::arange(1, 21, at::kFloat).view({2, 10})).sum().backward();
    return std::make_tuple(got.logp.detach(), got.entropy, hidden.grad());
  };
  const auto [logp, entropy, grad] = run(true);
  const auto [want_logp, want_entropy, want_grad] = run(false);
  EXPECT_LE((logp - want_logp).abs().max().item<double>(), 1e-6);
  EXPECT_LE((entropy - want_entropy).abs().max().item<double>(), 1e-6);
  EXPECT_GT(want_grad.abs().max().item<double>(), 1e-3);  // a gradient to compare
  EXPECT_LE((grad - want_grad).abs().max().item<double>(), 1e-6 * want_grad.abs().max().item<double>());
}

// Rank-4 adapters (alpha 16) on the default modules; null (and a test failure) when refused.
std::unique_ptr<LoraAdapters> AttachRank4(DecoderModel* model) {
  LoraConfig lora;
  lora.r = 4;
  lora.alpha = 16;
  auto adapters = LoraAdapters::Attach(model, lora);
  EXPECT_TRUE(adapters.ok()) << adapters.status();
  return adapters.ok() ? std::move(*adapters) : nullptr;
}

// One group of two sequences with a shared two-token prompt and three sampled tokens each,
// sampled by the model as it is now (pi_old = the current policy).
TrainBatch TwoSequences(const DecoderModel& model, float reward0, float reward1) {
  TrainBatch batch;
  batch.ids = at::tensor({5, 6, 7, 8, 9, 5, 6, 10, 11, 12}, at::kLong).view({2, 5});
  batch.valid = at::ones({2, 5}, at::kBool);
  batch.assistant_mask = at::tensor({0, 0, 1, 1, 1, 0, 0, 1, 1, 1}, at::kLong).view({2, 5}).to(at::kBool);
  batch.rewards = at::tensor({reward0, reward1});
  batch.group_size = 2;
  c10::NoGradGuard no_grad;
  at::Tensor hidden = model.Hidden({batch.ids, {}, {}});
  batch.old_logp = ComputeTokenLogProbs(model, hidden, batch.ids, batch.assistant_mask, 1.0).logp;
  return batch;
}

// A learning phase on identical sequences: the sequence with the higher reward must become more
// likely and the other less likely; only the first update is on-policy.
TEST(PolicyLearner, RaisesTheLikelihoodOfTheBetterSequence) {
  auto model = Load("llama");
  std::unique_ptr<LoraAdapters> adapters = AttachRank4(model.get());
  ASSERT_NE(adapters, nullptr);
  AdamW optimizer(adapters->Parameters(), {});
  LearnerConfig config;
  config.minibatches = 2;
  config.num_iterations = 2;
  config.micro_batch = 1;
  config.loss.clip_range_left = 0.2;  // wide, so several updates can move the policy
  config.loss.clip_range_right = 0.2;
  PolicyLearner learner(model.get(), adapters.get(), &optimizer, config);

  const TrainBatch batch = TwoSequences(*model, 1.0f, 0.0f);
  auto metrics = learner.Learn(batch, [](std::int64_t) { return 1e-2; });
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->updates, 4);
  EXPECT_EQ(metrics->tokens_trained, 6);
  EXPECT_LT(metrics->logprob_mismatch, 1e-5);  // the first minibatch is on-policy
  c10::NoGradGuard no_grad;
  at::Tensor hidden = model->Hidden({batch.ids, {}, {}});
  at::Tensor after = ComputeTokenLogProbs(*model, hidden, batch.ids, batch.assistant_mask, 1.0).logp;
  EXPECT_GT(after[0].sum().item<double>(), batch.old_logp[0].sum().item<double>());
  EXPECT_LT(after[1].sum().item<double>(), batch.old_logp[1].sum().item<double>());
}

// The k3 estimate of KL(pi || pi_ref) with the adapters-off model as pi_ref, written out per
// token: mean over sequences of the mean over trained tokens of exp(d) - d - 1, d = ref - pi.
double KlToBase(const DecoderModel& model, const TrainBatch& batch) {
  c10::NoGradGuard no_grad;
  at::Tensor policy = model.Hidden({batch.ids, {}, {}, /*use_adapters=*/true});
  at::Tensor base = model.Hidden({batch.ids, {}, {}, /*use_adapters=*/false});
  at::Tensor logp_policy = at::log_softmax(model.Logits(policy), -1);
  at::Tensor logp_base = at::log_softmax(model.Logits(base), -1);
  double total = 0;
  for (int n = 0; n < batch.ids.size(0); ++n) {
    double sum = 0;
    int count = 0;
    for (int t = 1; t < batch.ids.size(1); ++t) {
      if (!batch.assistant_mask[n][t].item<bool>()) continue;
      const std::int64_t token = batch.ids[n][t].item<std::int64_t>();
      const double d = logp_base[n][t - 1][token].item<double>() - logp_policy[n][t - 1][token].item<double>();
      sum += std::exp(d) - d - 1;
      ++count;
    }
    total += sum / count;
  }
  return total / batch.ids.size(0);
}

// beta > 0 with equal rewards (zero advantages): the loss is beta x KL to the base model, the
// reported KL is the k3 estimate, and learning on it alone pulls the adapters back toward the base.
TEST(PolicyLearner, TheKlPenaltyPullsThePolicyTowardTheBase) {
  auto model = Load("llama");
  std::unique_ptr<LoraAdapters> adapters = AttachRank4(model.get());
  ASSERT_NE(adapters, nullptr);
  {
    // Moves the policy away from the base: B is zero after PEFT initialisation.
    c10::NoGradGuard no_grad;
    at::manual_seed(7);
    for (at::Tensor& p : adapters->Parameters()) p.add_(at::randn_like(p) * 0.3);
  }
  AdamW optimizer(adapters->Parameters(), {});
  LearnerConfig config;
  config.loss.beta = 0.5;
  config.micro_batch = 1;
  PolicyLearner learner(model.get(), adapters.get(), &optimizer, config);

  const TrainBatch batch = TwoSequences(*model, 1.0f, 1.0f);
  const double kl_before = KlToBase(*model, batch);
  ASSERT_GT(kl_before, 1e-4);  // the perturbation moved the policy
  auto metrics = learner.Learn(batch, [](std::int64_t) { return 1e-2; });
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_NEAR(metrics->kl, kl_before, 1e-6 * kl_before + 1e-9);
  EXPECT_NEAR(metrics->loss, 0.5 * kl_before, 1e-6 * kl_before + 1e-9);
  for (int phase = 0; phase < 4; ++phase) ASSERT_TRUE(learner.Learn(batch, [](std::int64_t) { return 1e-2; }).ok());
  EXPECT_LT(KlToBase(*model, batch), 0.8 * kl_before);
}

}  // namespace
}  // namespace gspo::engine
