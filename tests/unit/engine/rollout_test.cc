// RolloutEngine on CPU: greedy output equals the transformers goldens, seeds reproduce samples,
// recorded log-probs equal the learner's recomputation, truncation never leaks, rows stop.
#include "worker/engine/sampler/rollout_engine.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <vector>

#include "worker/engine/model/safetensors.h"
#include "worker/engine/sampler/decode_loop.h"
#include "worker/engine/model/safetensors_torch.h"
#include "worker/engine/train/token_logprobs.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";

std::unique_ptr<DecoderModel> Load(const std::string& arch) {
  auto model = DecoderModel::Load(kModels + arch, at::kFloat, at::kCPU);
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(*model);
}

at::Tensor Golden(const std::string& arch, const char* name) {
  auto file = SafetensorsFile::Open(kModels + arch + "/golden.safetensors");
  EXPECT_TRUE(file.ok());
  return ViewAsTensor(*(*file)->Find(name)).clone();
}

std::vector<std::int64_t> Row(const at::Tensor& t, std::int64_t row, std::int64_t start, std::int64_t len) {
  at::Tensor slice = t[row].narrow(0, start, len).contiguous();
  return {slice.data_ptr<std::int64_t>(), slice.data_ptr<std::int64_t>() + len};
}

class GreedyRollout : public ::testing::TestWithParam<std::string> {};

TEST_P(GreedyRollout, EqualsTheTransformersGreedyGolden) {
  auto model = Load(GetParam());
  at::Tensor greedy = Golden(GetParam(), "greedy");  // [2, 70]: 40 prompt + 30 new
  RolloutRequest request;
  // Different prompt lengths in one batch exercise left padding: prompt 0 is 40 tokens, prompt 1
  // the same row cut to its first 40 as well but submitted twice with G = 1 each.
  request.prompts = {Row(greedy, 0, 0, 40), Row(greedy, 1, 0, 40)};
  request.max_new_tokens = 30;
  request.sampling.greedy = true;
  auto out = RolloutEngine(model.get()).Generate(request);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  for (int r = 0; r < 2; ++r) EXPECT_EQ((*out)[r].tokens, Row(greedy, r, 40, 30)) << r;
}

INSTANTIATE_TEST_SUITE_P(Architectures, GreedyRollout, ::testing::Values("gemma2", "qwen3", "llama"));

// What a cache row holds, before making the cache (the rollout's batch sizing), by hand for the
// Gemma 2 test model (4 layers, layers 0 and 2 sliding with a window of 8, 1 kv head of 16):
// 20 float32 slots: two full layers 2 x 16 x 20 x 4 bytes each, two rings of 8 slots
// (2 x 16 x 8 x 4) each with 8 x (8 + 1) bytes of positions and validity, and the full layers'
// shared 20 x 9; 6 bfloat16 slots: no ring, four layers of 2 x 16 x 6 x 2 and the shared 6 x 9.
TEST(KvCacheSize, BytesPerRowIsWhatACacheHolds) {
  auto model = Load("gemma2");
  ASSERT_NE(model, nullptr);
  const ModelConfig& config = model->config();
  EXPECT_EQ(KvCache::BytesPerRow(config, 20, at::kFloat), 2 * 2560 + 2 * (1024 + 72) + 180);
  EXPECT_EQ(KvCache::BytesPerRow(config, 6, at::kBFloat16), 4 * 384 + 54);
  for (const auto& [tokens, dtype] : {std::pair{20, at::kFloat}, std::pair{6, at::kBFloat16}}) {
    const KvCache cache(config, 3, tokens, dtype, at::kCPU);
    EXPECT_EQ(cache.Bytes(), 3 * KvCache::BytesPerRow(config, tokens, dtype)) << tokens;
  }
}

TEST(Rollout, LeftPaddingDoesNotChangeAShorterPrompt) {
  auto model = Load("gemma3");
  at::Tensor greedy = Golden("gemma3", "greedy");
  RolloutRequest alone, mixed;
  alone.prompts = {Row(greedy, 1, 0, 17)};
  mixed.prompts = {Row(greedy, 0, 0, 40), Row(greedy, 1, 0, 17)};
  for (RolloutRequest* r : {&alone, &mixed}) {
    r->max_new_tokens = 12;
    r->sampling.greedy = true;
  }
  auto a = RolloutEngine(model.get()).Generate(alone);
  auto m = RolloutEngine(model.get()).Generate(mixed);
  ASSERT_TRUE(a.ok() && m.ok());
  EXPECT_EQ((*a)[0].tokens, (*m)[1].tokens);
}

RolloutRequest Sampled(std::uint64_t seed) {
  RolloutRequest r;
  r.prompts = {{5, 6, 7, 8}, {9, 10, 11}};
  r.samples_per_prompt = 3;
  r.max_new_tokens = 10;
  r.sampling.temperature = 0.8;
  r.sampling.top_p = 0.95;
  r.sampling.top_k = 40;
  r.seed = seed;
  return r;
}

TEST(Rollout, SameSeedSameSamplesAndGroupsDiffer) {
  auto model = Load("llama");
  RolloutEngine engine(model.get());
  auto a = engine.Generate(Sampled(7)), b = engine.Generate(Sampled(7)), c = engine.Generate(Sampled(8));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(a->size(), 6u);
  bool any_difference = false, group_differs = false;
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ((*a)[i].tokens, (*b)[i].tokens);
    EXPECT_EQ((*a)[i].prompt_index, static_cast<std::int64_t>(i / 3));
    any_difference |= (*a)[i].tokens != (*c)[i].tokens;
  }
  group_differs = (*a)[0].tokens != (*a)[1].tokens || (*a)[1].tokens != (*a)[2].tokens;
  EXPECT_TRUE(any_difference);
  EXPECT_TRUE(group_differs);
}

TEST(Rollout, RecordedLogProbsEqualTheLearnersRecomputation) {
  auto model = Load("qwen2");
  RolloutRequest request = Sampled(3);
  auto out = RolloutEngine(model.get()).Generate(request);
  ASSERT_TRUE(out.ok());
  c10::NoGradGuard no_grad;
  double sum = 0;
  std::int64_t count = 0;
  for (const Generation& gen : *out) {
    std::vector<std::int64_t> seq = request.prompts[gen.prompt_index];
    const std::int64_t prompt_len = seq.size();
    seq.insert(seq.end(), gen.tokens.begin(), gen.tokens.end());
    at::Tensor ids = at::tensor(seq, at::kLong).unsqueeze(0);
    at::Tensor mask = at::zeros_like(ids, at::kBool);
    mask.narrow(1, prompt_len, gen.tokens.size()).fill_(true);
    at::Tensor logp = ComputeTokenLogProbs(*model, model->Hidden({ids, {}, {}}), ids, mask,
                                           request.sampling.temperature).logp;
    for (std::size_t t = 0; t < gen.tokens.size(); ++t) {
      const double diff = std::abs(logp[0][prompt_len + t].item<float>() - gen.logprobs[t]);
      // Decode (one query, the whole cache) and the full forward sum in different orders: a few
      // float32 ulps of the logits, up to about 1e-5 on a log-prob near -4.
      EXPECT_LE(diff, 2e-5) << t;
      sum += diff;
      ++count;
    }
  }
  ASSERT_GT(count, 0);
  EXPECT_LE(sum / count, 5e-6) << "mean |sampled - recomputed| over " << count << " tokens";
}

TEST(Rollout, StopIdsEndRowsAndKeepTheStopToken) {
  auto model = Load("llama");
  at::Tensor greedy = Golden("llama", "greedy");
  RolloutRequest request;
  request.prompts = {Row(greedy, 0, 0, 40), Row(greedy, 1, 0, 40)};
  request.max_new_tokens = 30;
  request.sampling.greedy = true;
  // Row 0's 5th greedy token is a stop id: row 0 ends there, row 1 runs on (compaction).
  request.stop_ids = {greedy[0][44].item<std::int64_t>()};
  auto out = RolloutEngine(model.get()).Generate(request);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0].finish, FinishReason::kStop);
  EXPECT_EQ((*out)[0].tokens, Row(greedy, 0, 40, 5));
  const auto& row1 = (*out)[1].tokens;
  const auto expected1 = Row(greedy, 1, 40, 30);
  auto stop = std::find(expected1.begin(), expected1.end(), request.stop_ids[0]);
  EXPECT_EQ(row1, std::vector<std::int64_t>(expected1.begin(),
                                            stop == expected1.end() ? expected1.end() : stop + 1));
}

TEST(Rollout, ARowsSamplesDependOnItsSeedNotOnItsBatch) {
  auto model = Load("llama");
  RolloutRequest both = Sampled(5);
  both.prompts = {{5, 6, 7, 8}, {9, 10, 11, 12}};  // equal lengths: no padding difference
  RolloutRequest alone = both;
  alone.prompts = {both.prompts[1]};
  for (std::int64_t s = 0; s < 3; ++s) alone.row_seeds.push_back(RowSeed(5, 1, s));
  auto a = RolloutEngine(model.get()).Generate(both);
  auto b = RolloutEngine(model.get()).Generate(alone);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int s = 0; s < 3; ++s) EXPECT_EQ((*a)[3 + s].tokens, (*b)[s].tokens) << s;
  alone.row_seeds.pop_back();
  EXPECT_EQ(RolloutEngine(model.get()).Generate(alone).status().message(), "rollout: 2 row seeds for 3 rows");
}

// 8 free-running rows (30 tokens, no top-k) and the same request with a stop id that row 0
// samples early: rows that also sample it end there and leave the batch at the next check.
struct EarlyStop {
  RolloutRequest free_running, stopping;
  std::vector<Generation> full;  // the free run
};
EarlyStop EarlyStopRequests(const DecoderModel& model) {
  EarlyStop e;
  e.free_running = Sampled(9);
  e.free_running.samples_per_prompt = 4;
  e.free_running.max_new_tokens = 30;
  e.free_running.sampling.top_k = 0;
  e.free_running.sampling.top_p = 1.0;
  auto full = RolloutEngine(&model).Generate(e.free_running);
  EXPECT_TRUE(full.ok()) << full.status();
  if (full.ok()) e.full = *full;
  e.stopping = e.free_running;
  if (!e.full.empty()) e.stopping.stop_ids = {e.full[0].tokens[2]};
  return e;
}

TEST(Rollout, CompactionKeepsEveryRowsTokens) {
  auto model = Load("qwen3");
  const EarlyStop early = EarlyStopRequests(*model);
  ASSERT_FALSE(early.full.empty());
  const std::vector<Generation>& full = early.full;
  const RolloutRequest& stopping = early.stopping;
  // Every row must read as the free run cut at its stop; the others run on.
  RolloutTimings timings;
  auto cut = RolloutEngine(model.get()).Generate(stopping, &timings);
  ASSERT_TRUE(cut.ok());
  int stopped = 0;
  for (std::size_t r = 0; r < full.size(); ++r) {
    const auto& f = full[r].tokens;
    auto at = std::find(f.begin(), f.end(), stopping.stop_ids[0]);
    const std::vector<std::int64_t> expected(f.begin(), at == f.end() ? f.end() : at + 1);
    EXPECT_EQ((*cut)[r].tokens, expected) << r;
    EXPECT_EQ((*cut)[r].logprobs.size(), expected.size());
    // A smaller batch may round differently in the matrix products.
    for (std::size_t t = 0; t < expected.size(); ++t) EXPECT_NEAR((*cut)[r].logprobs[t], full[r].logprobs[t], 1e-5);
    EXPECT_EQ((*cut)[r].finish, at == f.end() ? FinishReason::kLength : FinishReason::kStop);
    stopped += at != f.end();
  }
  EXPECT_GE(stopped, 1);
  if (stopped < 8) {
    // Fewer rows were computed than 8 rows x 29 steps.
    EXPECT_LT(timings.row_steps, 8 * 29);
  }
  EXPECT_EQ(timings.graph_captures, 0);  // CPU
}

// The cache kept for the next turn is the decode's own buffers, moved, not a copy made while the
// decode's cache is still held (that would hold the rollout's largest allocation twice).
TEST(Rollout, KeptCachesMoveRatherThanCopy) {
  c10::NoGradGuard no_grad;
  auto model = Load("qwen3");
  const at::Tensor greedy = Golden("qwen3", "greedy");
  const std::vector<std::int64_t> prompt = Row(greedy, 0, 0, 12);
  const std::int64_t rows = 2, len = static_cast<std::int64_t>(prompt.size());
  RolloutRequest request;
  request.max_new_tokens = 5;
  request.seed = 3;
  KvCache cache(model->config(), rows, len + request.max_new_tokens, model->dtype(), model->device());
  const at::Tensor ids = at::tensor(prompt, at::kLong).unsqueeze(0).repeat({rows, 1});
  const at::Tensor hidden = model->Hidden({ids}, &cache).select(1, len - 1);
  const void* keys = cache.layer(0).k.data_ptr();
  DecodeStart s{&cache, model->Logits(hidden.unsqueeze(1)).squeeze(1)};
  s.next_position.assign(rows, len);
  s.seeds = {RowSeed(3, 0, 0), RowSeed(3, 0, 1)};
  s.column = len;
  s.keep_caches = true;
  DecodeEnd end = DecodeRows(*model, request, std::move(s), nullptr);
  ASSERT_TRUE(end.cache.has_value());
  EXPECT_EQ(end.cache->layer(0).k.data_ptr(), keys);
  EXPECT_EQ(end.cache->layer(0).k.size(0), rows);
  EXPECT_EQ(cache.layers(), 0);  // moved from
  EXPECT_EQ(end.column, len + request.max_new_tokens - 1);
}

TEST(Sampling, RowUniformsAreCounterBased) {
  EXPECT_EQ(RowUniform(3, 7), RowUniform(3, 7));
  EXPECT_NE(RowUniform(3, 7), RowUniform(3, 8));
  EXPECT_NE(RowUniform(3, 7), RowUniform(4, 7));
  at::Tensor u = RowUniforms({3, 4}, 1000);
  EXPECT_FLOAT_EQ(u[1][7].item<float>(), static_cast<float>(RowUniform(4, 7)));
  EXPECT_TRUE((u >= 0).all().item<bool>() && (u < 1).all().item<bool>());
  // Mean 0.5, sd of the mean of 2000 draws 0.0065: 5 sigma.
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.033);
  EXPECT_NE(RowSeed(1, 0, 1), RowSeed(1, 1, 0));
}

TEST(Sampling, TopKAndTopPNeverEmitOutsideTheKeptSet) {
  // Probabilities 0.4, 0.3, 0.15, 0.1, 0.05 (logits = log p): top_p 0.7 keeps {0, 1};
  // top_k 3 keeps {0, 1, 2}.
  at::Tensor logits = at::log(at::tensor({0.4f, 0.3f, 0.15f, 0.1f, 0.05f})).unsqueeze(0).repeat({1000, 1});
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const auto uniforms = [&] { return at::rand({1000}, gen); };
  SamplingParams top_p;
  top_p.top_p = 0.7;
  at::Tensor a = SampleNext(logits, top_p, uniforms()).tokens;
  EXPECT_TRUE((a <= 1).all().item<bool>());
  // Kept mass renormalised: token 0 has 0.4 / 0.7 = 0.571; 1000 draws, 4 sigma = 0.063.
  EXPECT_NEAR((a == 0).to(at::kFloat).mean().item<double>(), 0.4 / 0.7, 0.063);
  SamplingParams top_k;
  top_k.top_k = 3;
  at::Tensor b = SampleNext(logits, top_k, uniforms()).tokens;
  EXPECT_TRUE((b <= 2).all().item<bool>());
  EXPECT_TRUE((b == 2).any().item<bool>());
  // Untruncated: every token is drawn at its rate (token 4: 0.05, 4 sigma = 0.028).
  SamplingParams plain;
  at::Tensor c = SampleNext(logits, plain, uniforms()).tokens;
  EXPECT_NEAR((c == 4).to(at::kFloat).mean().item<double>(), 0.05, 0.028);
  EXPECT_NEAR((c == 0).to(at::kFloat).mean().item<double>(), 0.4, 0.062);
  // The inverse CDF at the edges: u = 0 draws the first token with mass, u just below 1 the last.
  at::Tensor edge = at::tensor({0.0f, 0.99999994f});
  at::Tensor d = SampleNext(logits.narrow(0, 0, 2), top_k, edge).tokens;
  EXPECT_EQ(d[0].item<std::int64_t>(), 0);
  EXPECT_EQ(d[1].item<std::int64_t>(), 2);
  // The recorded log-prob is the untruncated one: log 0.4 for token 0.
  SamplingParams greedy;
  greedy.greedy = true;
  EXPECT_NEAR(SampleNext(logits.narrow(0, 0, 1), greedy, edge.narrow(0, 0, 1)).logprobs[0].item<float>(),
              std::log(0.4), 1e-6);
  at::Tensor lp = SampleNext(logits, top_p, uniforms()).logprobs;
  EXPECT_TRUE(((lp - std::log(0.4)).abs() < 1e-5).logical_or((lp - std::log(0.3)).abs() < 1e-5).all().item<bool>());
}

}  // namespace
}  // namespace gspo::engine

namespace gspo::engine {
namespace {

// One more turn of each continuing row, as the trainer builds it: the row's conversation so far
// plus a made-up end of turn and user reply.
std::vector<std::int64_t> NextTurn(std::vector<std::int64_t> conversation, const Generation& gen, std::int64_t i) {
  conversation.insert(conversation.end(), gen.tokens.begin(), gen.tokens.end());
  for (std::int64_t id : {std::int64_t{1}, 20 + i, 30 + i, 40 + i}) conversation.push_back(id);
  return conversation;
}

// Turn after turn, continuing rows from their caches (prefilling only the new tokens) must give
// what re-prefilling each whole conversation gives: the same tokens and log-probs.
// `from_cache`: whether the turns continue from the caches (only the 5 new tokens of each row
// prefilled: its last sampled token and NextTurn's 4) or prefill whole conversations.
void ExpectContinuationEqualsRePrefill(const std::string& arch, RolloutRequest first, std::int64_t turns,
                                       bool from_cache) {
  auto model = Load(arch);
  RolloutSession session(model.get());
  auto out = session.Start(first);
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<std::vector<std::int64_t>> context;
  for (std::size_t r = 0; r < out->size(); ++r) context.push_back(first.prompts[r / first.samples_per_prompt]);
  std::vector<Generation> last = *out;
  for (std::int64_t turn = 1; turn < turns; ++turn) {
    // Every other row goes on (the first always), as conversations end at different turns.
    std::vector<std::int64_t> rows;
    std::vector<std::vector<std::int64_t>> conversations;
    for (std::size_t r = 0; r < last.size(); r += (turn % 2 == 1 ? 2 : 1)) {
      rows.push_back(static_cast<std::int64_t>(r));
      conversations.push_back(NextTurn(context[r], last[r], static_cast<std::int64_t>(r)));
    }
    RolloutRequest next = first;
    next.max_new_tokens = 6 + turn;
    next.row_seeds.clear();
    for (std::size_t i = 0; i < rows.size(); ++i) next.row_seeds.push_back(RowSeed(77 + turn, rows[i], 0));
    RolloutTimings timings;
    auto continued = session.Continue(rows, conversations, next, &timings);
    ASSERT_TRUE(continued.ok()) << continued.status();
    std::int64_t whole_tokens = 0;
    for (const auto& c : conversations) whole_tokens += static_cast<std::int64_t>(c.size());
    EXPECT_EQ(timings.prefill_tokens, from_cache ? 5 * static_cast<std::int64_t>(rows.size()) : whole_tokens)
        << arch << " turn " << turn;
    RolloutRequest whole = next;
    whole.prompts = conversations;
    whole.samples_per_prompt = 1;
    auto reprefilled = RolloutEngine(model.get()).Generate(whole);
    ASSERT_TRUE(reprefilled.ok()) << reprefilled.status();
    ASSERT_EQ(continued->size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Generation& got = (*continued)[i];
      const Generation& want = (*reprefilled)[i];
      EXPECT_EQ(got.tokens, want.tokens) << arch << " turn " << turn << " row " << rows[i];
      ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
      for (std::size_t t = 0; t < want.logprobs.size(); ++t) EXPECT_NEAR(got.logprobs[t], want.logprobs[t], 1e-5);
      EXPECT_EQ(got.finish, want.finish);
    }
    context = conversations;
    last = *continued;
  }
}

TEST(RolloutSession, ContinuingFromCachesEqualsRePrefillingGemma2SlidingWindow) {
  // The first turn fits the test model's 8-token window, later turns pass it (whole
  // conversations prefilled from then on).
  RolloutRequest first = Sampled(5);
  first.prompts = {{5, 6, 7}, {9, 10}};
  first.max_new_tokens = 4;
  ExpectContinuationEqualsRePrefill("gemma2", first, 4, /*from_cache=*/false);
}

TEST(KvCache, GrowingPastTheWindowTurnsSlidingLayersIntoRings) {
  auto model = Load("gemma2");  // sliding window 8
  KvCache cache(model->config(), 2, 6, at::kFloat, at::kCPU);
  EXPECT_FALSE(cache.RingsAt(8));
  EXPECT_TRUE(cache.RingsAt(9));
  // Six tokens through the model, then grow: what the cache holds reads back unchanged.
  at::Tensor ids = at::arange(3, 15).view({2, 6});
  (void)model->Hidden({ids, {}, {}}, &cache);
  const KvCache before = cache.Rows(at::arange(2));
  cache.Grow(20);
  bool some_ring = false;
  for (std::int64_t i = 0; i < model->config().num_layers; ++i) {
    const auto& was = before.layer(i);
    const auto& now = cache.layer(i);
    EXPECT_EQ(now.capacity, now.sliding ? 8 : 20) << i;
    EXPECT_EQ(now.ring, now.sliding) << i;
    some_ring |= now.ring;
    EXPECT_TRUE(at::equal(now.k.narrow(2, 0, 6), was.k.narrow(2, 0, 6))) << i;
    EXPECT_TRUE(at::equal(now.positions.narrow(1, 0, 6), was.positions.narrow(1, 0, 6))) << i;
    EXPECT_TRUE(now.valid.narrow(1, 0, 6).all().item<bool>()) << i;
    EXPECT_FALSE(now.valid.narrow(1, 6, now.capacity - 6).any().item<bool>()) << i;
  }
  EXPECT_TRUE(some_ring);
}

// The shared-prefix bookkeeping (KvCache::SharePrefix): which row each row reads its prefix
// from, through compaction, concatenation and writes below the prefix.
std::vector<int> PrefixSources(const KvCache& cache) {
  for (std::int64_t i = 0; i < cache.layers(); ++i) {
    const KvCache::LayerBuffers& layer = cache.layer(i);
    EXPECT_EQ(layer.prefix_slots, cache.prefix_slots()) << "layer " << i;
    EXPECT_EQ(layer.prefix_source.defined(), cache.prefix_source().defined()) << "layer " << i;
    if (layer.prefix_source.defined()) {
      EXPECT_TRUE(at::equal(layer.prefix_source, cache.prefix_source())) << "layer " << i;
    }
  }
  std::vector<int> out;
  if (!cache.prefix_source().defined()) return out;
  const at::Tensor source = cache.prefix_source().to(at::kCPU);
  for (std::int64_t i = 0; i < source.numel(); ++i) out.push_back(source[i].item<int>());
  return out;
}

TEST(KvCache, SharedPrefixFollowsTheRowsThatStay) {
  auto model = Load("gemma2");
  KvCache cache(model->config(), 6, 12, at::kFloat, at::kCPU);
  cache.SharePrefix(at::tensor({0, 0, 0, 3, 3, 3}, at::kLong), 4);
  EXPECT_EQ(cache.prefix_slots(), 4);
  EXPECT_EQ(PrefixSources(cache), (std::vector<int>{0, 0, 0, 3, 3, 3}));

  // Rows 0 and 3 leave: 1 and 2 read from 1 (now row 0), 4 and 5 from 4 (now row 2).
  KvCache kept = cache.Rows(at::tensor({1, 2, 4, 5}, at::kLong));
  EXPECT_EQ(PrefixSources(kept), (std::vector<int>{0, 0, 2, 2}));
  EXPECT_EQ(PrefixSources(cache), (std::vector<int>{0, 0, 0, 3, 3, 3})) << "Rows must not change the original";
  // Any order: each run of equal sources reads from its own first row.
  KvCache shuffled = cache.Rows(at::tensor({4, 0, 5}, at::kLong));
  EXPECT_EQ(PrefixSources(shuffled), (std::vector<int>{0, 1, 2}));

  // Concatenation shifts the appended rows' sources; a cache that shares differently clears it.
  KvCache both = kept;
  both.AppendRows(kept);
  EXPECT_EQ(PrefixSources(both), (std::vector<int>{0, 0, 2, 2, 4, 4, 6, 6}));
  KvCache unshared(model->config(), 2, 12, at::kFloat, at::kCPU);
  KvCache mixed = kept;
  mixed.AppendRows(unshared);
  EXPECT_EQ(mixed.prefix_slots(), 0);
  EXPECT_TRUE(PrefixSources(mixed).empty());

  // Growing keeps slots where they were; writes below the prefix end the sharing.
  KvCache grown = kept;
  grown.Grow(20);
  EXPECT_EQ(grown.prefix_slots(), 4);
  KvCache invalidated = kept;
  invalidated.InvalidateFrom({6, 3, 6, 6});
  EXPECT_EQ(invalidated.prefix_slots(), 0);
  KvCache rewound = kept;
  rewound.SetLength(4);
  EXPECT_EQ(rewound.prefix_slots(), 4);
  rewound.SetLength(3);
  EXPECT_EQ(rewound.prefix_slots(), 0);
}

TEST(KvCache, SharePrefixRejectsWhatCannotBeShared) {
  auto model = Load("gemma2");
  KvCache cache(model->config(), 3, 12, at::kFloat, at::kCPU);
  EXPECT_THROW(cache.SharePrefix(at::tensor({0, 0}, at::kLong), 4), std::invalid_argument);
  EXPECT_THROW(cache.SharePrefix(at::tensor({0, 0, 0}, at::kInt), 4), std::invalid_argument);
  EXPECT_THROW(cache.SharePrefix(at::tensor({0, 0, 3}, at::kLong), 4), std::invalid_argument);
  EXPECT_THROW(cache.SharePrefix(at::tensor({0, -1, 0}, at::kLong), 4), std::invalid_argument);
  EXPECT_THROW(cache.SharePrefix(at::tensor({0, 0, 0}, at::kLong), 13), std::invalid_argument);
  EXPECT_EQ(cache.prefix_slots(), 0);
  cache.SharePrefix(at::tensor({0, 0, 0}, at::kLong), 12);
  EXPECT_EQ(cache.prefix_slots(), 12);
  cache.SharePrefix(at::tensor({0, 1, 2}, at::kLong), 0);
  EXPECT_EQ(cache.prefix_slots(), 0);
}

TEST(RolloutSession, ContinuingFromCachesEqualsRePrefillingAfterCompaction) {
  // Rows that stop early leave the batch (compaction) with their caches parked.
  auto model = Load("qwen3");
  const RolloutRequest first = EarlyStopRequests(*model).stopping;
  ASSERT_FALSE(first.stop_ids.empty());
  RolloutTimings timings;
  auto cut = RolloutEngine(model.get()).Generate(first, &timings);
  ASSERT_TRUE(cut.ok());
  ASSERT_LT(timings.row_steps, 8 * 29) << "no compaction to exercise";
  ExpectContinuationEqualsRePrefill("qwen3", first, 3, /*from_cache=*/true);
}

TEST(RolloutSession, RejectsAConversationThatDoesNotExtendTheRow) {
  auto model = Load("llama");
  RolloutSession session(model.get());
  RolloutRequest first = Sampled(3);
  auto out = session.Start(first);
  ASSERT_TRUE(out.ok());
  std::vector<std::int64_t> wrong = {5, 6, 99};  // not prompt 0 + its tokens
  auto continued = session.Continue({0}, {wrong}, first);
  ASSERT_FALSE(continued.ok());
  EXPECT_NE(continued.status().message().find("does not extend"), std::string::npos);
  auto unordered = session.Continue({1, 0}, {NextTurn(first.prompts[0], (*out)[1], 1), NextTurn(first.prompts[0], (*out)[0], 0)}, first);
  EXPECT_FALSE(unordered.ok());
}

}  // namespace
}  // namespace gspo::engine
