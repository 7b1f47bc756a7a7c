// The fused decode kernels against the reference LibTorch layers (the oracle: the same model
// with GSPO_FUSED_DECODE=0, itself checked against transformers by the engine's golden tests),
// on every test architecture in float32 and bfloat16, with and without adapters, across the
// sliding window's wrap, with quantized base weights; and the fused sampler against an exact
// top-p computed on the CPU.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/fused_norm.h"
#include "worker/engine/model/weight_names.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";
const at::Device kCuda("cuda:0");

struct FusedSwitch {
  explicit FusedSwitch(bool on) { ::setenv("GSPO_FUSED_DECODE", on ? "1" : "0", 1); }
  ~FusedSwitch() { ::unsetenv("GSPO_FUSED_DECODE"); }
};

double MaxRelDiff(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor fa = a.to(at::kDouble), fb = b.to(at::kDouble);
  return ((fa - fb).abs().max() / fb.abs().max().clamp_min(1e-30)).item<double>();
}

// ||a - b|| / ||b||: steadier than the largest element when comparing two roundings.
double NormRelDiff(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor fa = a.to(at::kDouble), fb = b.to(at::kDouble);
  return ((fa - fb).norm() / fb.norm().clamp_min(1e-30)).item<double>();
}

struct DecodeRun {
  at::Tensor hidden;             // [steps, B, E] float32: the final hidden state of every step
  std::vector<at::Tensor> k, v;  // per layer, float32, after the last step
  std::vector<at::Tensor> positions, valid;
};

// Prefills three left-padded prompts, then runs `steps` one-token cache_column steps (fused or
// through the reference layers) on a fixed token sequence, so runs are comparable across
// paths and dtypes. 12 steps after a 7-token prompt pass the 8-slot sliding window of the
// Gemma test models.
DecodeRun RunDecode(const DecoderModel& model, bool fused, bool adapters, std::int64_t steps) {
  c10::NoGradGuard no_grad;
  const auto longs = at::TensorOptions(kCuda).dtype(at::kLong);
  const std::vector<std::vector<std::int64_t>> prompts = {{3, 17, 42, 9, 77}, {5, 6}, {11, 12, 13, 14, 15, 16, 200}};
  const std::int64_t rows = prompts.size(), longest = 7;
  at::Tensor ids = at::zeros({rows, longest}, longs), valid = at::zeros({rows, longest}, longs.dtype(at::kBool));
  at::Tensor positions = at::zeros({rows, longest}, longs);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t len = prompts[r].size(), pad = longest - len;
    ids[r].narrow(0, pad, len).copy_(at::tensor(prompts[r], at::kLong));
    valid[r].narrow(0, pad, len).fill_(true);
    positions[r].narrow(0, pad, len).copy_(at::arange(len, at::kLong));
  }
  KvCache cache(model.config(), rows, longest + steps, model.dtype(), kCuda);
  FusedSwitch path(fused);
  EXPECT_EQ(model.FusedDecodeAvailable(), fused);
  model.Hidden({ids, positions, valid, adapters}, &cache);
  at::Tensor pos = at::tensor(std::vector<std::int64_t>{5, 2, 7}, longs).unsqueeze(1);
  at::Tensor column = at::full({1}, longest, longs);
  std::vector<at::Tensor> hidden;
  for (std::int64_t s = 0; s < steps; ++s) {
    at::Tensor next = (at::arange(rows, longs) * 11 + s * 37 + 1).remainder(model.config().vocab_size).unsqueeze(1);
    hidden.push_back(model.Hidden({next, pos, {}, adapters, false, column}, &cache).select(1, 0).to(at::kFloat));
    pos.add_(1);
    column.add_(1);
  }
  DecodeRun run{at::stack(hidden)};
  for (std::int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    run.k.push_back(cache.layer(layer).k.to(at::kFloat));
    run.v.push_back(cache.layer(layer).v.to(at::kFloat));
    run.positions.push_back(cache.layer(layer).positions.clone());
    run.valid.push_back(cache.layer(layer).valid.clone());
  }
  return run;
}

// The largest relative difference between two runs' hidden states and caches; positions and
// validity must be identical.
std::pair<double, double> Compare(const DecodeRun& got, const DecodeRun& want) {
  double cache = 0;
  for (std::size_t layer = 0; layer < want.k.size(); ++layer) {
    cache = std::max({cache, MaxRelDiff(got.k[layer], want.k[layer]), MaxRelDiff(got.v[layer], want.v[layer])});
    EXPECT_TRUE(at::equal(got.positions[layer], want.positions[layer])) << layer;
    EXPECT_TRUE(at::equal(got.valid[layer], want.valid[layer])) << layer;
  }
  return {MaxRelDiff(got.hidden, want.hidden), cache};
}

std::unique_ptr<DecoderModel> Load(const std::string& arch, at::ScalarType dtype) {
  auto model = DecoderModel::Load(kModels + arch, dtype, kCuda);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(*model) : nullptr;
}

class FusedDecode : public ::testing::TestWithParam<std::string> {};

TEST_P(FusedDecode, Float32StepsEqualTheReferenceLayers) {
  auto model = Load(GetParam(), at::kFloat);
  ASSERT_TRUE(model);
  const auto [hidden, cache] = Compare(RunDecode(*model, true, false, 12), RunDecode(*model, false, false, 12));
  EXPECT_LE(hidden, 2e-5) << GetParam();
  EXPECT_LE(cache, 2e-5) << GetParam();
}

// 3 rows leave the device idle, so 300 steps (past one 256-slot chunk of the unbounded
// layers' caches) take the split-K attention and its merge: they must give what one pass over
// the cache gives.
TEST_P(FusedDecode, LongCachesSplitAcrossChunksEqualTheReferenceLayers) {
  auto model = Load(GetParam(), at::kFloat);
  ASSERT_TRUE(model);
  const auto [hidden, cache] = Compare(RunDecode(*model, true, false, 300), RunDecode(*model, false, false, 300));
  EXPECT_LE(hidden, 2e-5) << GetParam();
  EXPECT_LE(cache, 2e-5) << GetParam();
}

// In bf16 both paths round, in different places (the fused attention keeps scores and
// probabilities in float32), so on these tiny random models their errors against the float32
// computation differ by chance; the fused one must stay within twice the reference's.
TEST_P(FusedDecode, Bf16StepsAreAsAccurateAsTheReferenceLayers) {
  auto exact = Load(GetParam(), at::kFloat);
  auto model = Load(GetParam(), at::kBFloat16);
  ASSERT_TRUE(exact && model);
  const DecodeRun truth = RunDecode(*exact, false, false, 12);
  const DecodeRun fused = RunDecode(*model, true, false, 12), reference = RunDecode(*model, false, false, 12);
  const auto [fused_max, fused_cache] = Compare(fused, truth);
  const auto [ref_max, ref_cache] = Compare(reference, truth);
  const double fused_error = NormRelDiff(fused.hidden, truth.hidden);
  const double ref_error = NormRelDiff(reference.hidden, truth.hidden);
  EXPECT_LE(fused_error, 2 * ref_error + 2e-3) << GetParam();
  EXPECT_LE(fused_cache, 2 * ref_cache + 2e-3) << GetParam();
  EXPECT_LE(fused_max, 6e-2) << GetParam();
  EXPECT_LE(ref_max, 6e-2) << GetParam();
}

TEST_P(FusedDecode, AdaptersAddTheSameDelta) {
  auto model = Load(GetParam(), at::kFloat);
  ASSERT_TRUE(model);
  LoraConfig config;
  config.r = 4;
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  auto adapters = LoraAdapters::Attach(model.get(), config);
  ASSERT_TRUE(adapters.ok()) << adapters.status();
  {
    c10::NoGradGuard no_grad;
    at::manual_seed(5);
    for (at::Tensor& p : (*adapters)->Parameters()) p.normal_(0, 0.2);  // B != 0: a visible delta
  }
  model->PrepareDecodeAdapters();
  const DecodeRun with = RunDecode(*model, true, true, 6);
  const auto [hidden, cache] = Compare(with, RunDecode(*model, false, true, 6));
  EXPECT_LE(hidden, 2e-5) << GetParam();
  EXPECT_LE(cache, 2e-5) << GetParam();
  // The adapters changed something, and switching them off gives the base model again.
  EXPECT_GT(Compare(with, RunDecode(*model, false, false, 6)).first, 1e-2);
  EXPECT_LE(Compare(RunDecode(*model, true, false, 6), RunDecode(*model, false, false, 6)).first, 2e-5);
}

// Quantized projections: the fused step dequantizes with the CUDA kernel into its buffer, the
// reference layers through LibTorch ops; both give the same weights bit for bit, so the steps
// agree as closely as the float32 steps of the dense model do, with adapters on top too.
TEST_P(FusedDecode, QuantizedWeightsDecodeAsTheReferenceLayers) {
  for (const QuantizeOptions options : {QuantizeOptions{QuantKind::kNf4, false}, QuantizeOptions{QuantKind::kNf4, true},
                                        QuantizeOptions{QuantKind::kInt8, false}}) {
    auto model = Load(GetParam(), at::kFloat);
    ASSERT_TRUE(model);
    const DecodeRun dense = RunDecode(*model, false, false, 6);
    model->QuantizeBaseWeights(options);
    const DecodeRun quantized = RunDecode(*model, false, false, 6);
    const auto [hidden, cache] = Compare(RunDecode(*model, true, false, 6), quantized);
    EXPECT_LE(hidden, 2e-5) << GetParam() << " kind " << static_cast<int>(options.kind);
    EXPECT_LE(cache, 2e-5) << GetParam();
    EXPECT_GT(Compare(quantized, dense).first, 1e-4) << "quantization changed nothing";

    LoraConfig config;
    config.r = 4;
    config.target_modules = {"q_proj", "v_proj", "o_proj", "down_proj"};
    auto adapters = LoraAdapters::Attach(model.get(), config);
    ASSERT_TRUE(adapters.ok()) << adapters.status();
    {
      c10::NoGradGuard no_grad;
      at::manual_seed(6);
      for (at::Tensor& p : (*adapters)->Parameters()) p.normal_(0, 0.2);
    }
    model->PrepareDecodeAdapters();
    EXPECT_LE(Compare(RunDecode(*model, true, true, 6), RunDecode(*model, false, true, 6)).first, 2e-5) << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, FusedDecode, ::testing::Values("gemma2", "gemma3", "llama", "qwen2", "qwen3"));

// A random Gemma 2 model with the attention shape of the real ones (the test models above have
// head dimensions of 12 to 24, which take the kernel's generic variant): 2 kv heads, `heads`
// query heads, head_dim 64, 128 or 256; the same weights for every dtype.
std::unique_ptr<DecoderModel> RandomGemma2(std::int64_t head_dim, std::int64_t heads = 4,
                                           at::ScalarType dtype = at::kFloat) {
  const std::string json = R"({"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2",
    "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "head_dim": )" +
                           std::to_string(head_dim) + R"(, "hidden_act": "gelu_pytorch_tanh",
    "hidden_size": 64, "intermediate_size": 128, "max_position_embeddings": 4096, "num_attention_heads": )" +
                           std::to_string(heads) + R"(,
    "num_hidden_layers": 2, "num_key_value_heads": 2, "query_pre_attn_scalar": )" +
                           std::to_string(head_dim) + R"(, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
    "sliding_window": 8, "tie_word_embeddings": true, "vocab_size": 256, "pad_token_id": 0})";
  auto config = ParseModelConfig(json, "random gemma2");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  at::manual_seed(head_dim);
  std::map<std::string, at::Tensor> tensors;
  const auto options = at::TensorOptions(kCuda).dtype(at::kFloat);
  for (const WeightSpec& spec : ExpectedWeights(*config)) {
    tensors[spec.name] = at::randn(spec.shape, options) * (spec.kind == WeightKind::kNorm ? 0.05 : 0.2);
  }
  auto model = DecoderModel::FromTensors(*config, tensors, dtype, kCuda, "random gemma2");
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(*model) : nullptr;
}

// Every compiled keys-per-round choice of the specialised variants (GSPO_ATTENTION_KEYS; the
// default too), short and past one split-K chunk, equals the reference layers.
TEST(FusedDecodeHeadDims, SpecialisedAttentionVariantsEqualTheReferenceLayers) {
  for (const std::int64_t head_dim : {64, 128, 256}) {
    auto model = RandomGemma2(head_dim);
    ASSERT_TRUE(model);
    for (const char* keys : {"0", "2", "4", "8"}) {
      ::setenv("GSPO_ATTENTION_KEYS", keys, 1);
      for (const std::int64_t steps : {12, 300}) {
        const auto [hidden, cache] =
            Compare(RunDecode(*model, true, false, steps), RunDecode(*model, false, false, steps));
        EXPECT_LE(hidden, 2e-5) << "head_dim " << head_dim << " keys " << keys << " steps " << steps;
        EXPECT_LE(cache, 2e-5) << "head_dim " << head_dim << " keys " << keys;
      }
    }
    ::unsetenv("GSPO_ATTENTION_KEYS");
  }
}

// The tensor-core attention (bf16 caches) against the float32 computation, judged as the bf16
// test above judges the fused step: within twice the reference layers' error, short and past
// one split-K chunk, for 2 and 4 query heads per kv head. GSPO_ATTENTION_MMA=0 must really
// switch to the CUDA-core kernel.
TEST(FusedDecodeHeadDims, TensorCoreAttentionIsAsAccurateAsTheReferenceLayers) {
  struct Env {
    Env(const char* name, const char* value) : name(name) { ::setenv(name, value, 1); }
    ~Env() { ::unsetenv(name); }
    const char* name;
  };
  for (const std::int64_t head_dim : {64, 128, 256}) {
    for (const std::int64_t heads : {4, 8}) {
      auto exact = RandomGemma2(head_dim, heads, at::kFloat);
      auto model = RandomGemma2(head_dim, heads, at::kBFloat16);
      ASSERT_TRUE(exact && model);
      for (const std::int64_t steps : {12, 300}) {
        const std::string what = "head_dim " + std::to_string(head_dim) + " heads " + std::to_string(heads) +
                                 " steps " + std::to_string(steps);
        const DecodeRun truth = RunDecode(*exact, false, false, steps);
        const DecodeRun reference = RunDecode(*model, false, false, steps);
        const auto [ref_max, ref_cache] = Compare(reference, truth);
        DecodeRun cuda_cores, tensor_cores;
        {
          Env off("GSPO_ATTENTION_MMA", "0");
          cuda_cores = RunDecode(*model, true, false, steps);
        }
        {
          Env on("GSPO_ATTENTION_MMA", "1");
          tensor_cores = RunDecode(*model, true, false, steps);
        }
        const auto [mma_max, mma_cache] = Compare(tensor_cores, truth);
        EXPECT_LE(NormRelDiff(tensor_cores.hidden, truth.hidden), 2 * NormRelDiff(reference.hidden, truth.hidden) + 2e-3)
            << what;
        EXPECT_LE(mma_cache, 2 * ref_cache + 2e-3) << what;
        EXPECT_LE(mma_max, 6e-2) << what;
        EXPECT_LE(NormRelDiff(tensor_cores.hidden, cuda_cores.hidden), 2e-2) << what;
        EXPECT_FALSE(at::equal(tensor_cores.hidden, cuda_cores.hidden)) << what << ": the switch changed nothing";
      }
    }
  }
}

// One 7-token prompt prefilled once and copied to 3 rows, then `steps` fused steps with a
// different token per row. `corrupt`: the copies of rows 1 and 2 on the full-length layers are
// overwritten with NaN (ring layers are left alone: once they wrap, every row reads its own);
// `share`: the rows declare row 0 their prefix source.
at::Tensor DecodeSharedPrompt(const DecoderModel& model, std::int64_t steps, bool corrupt, bool share) {
  c10::NoGradGuard no_grad;
  const auto longs = at::TensorOptions(kCuda).dtype(at::kLong);
  const std::int64_t prompt = 7, rows = 3;
  KvCache cache(model.config(), 1, prompt + steps, model.dtype(), kCuda);
  FusedSwitch path(true);
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{3, 17, 42, 9, 77, 5, 6}, longs).unsqueeze(0);
  model.Hidden({ids, at::arange(prompt, longs).unsqueeze(0), at::ones({1, prompt}, longs.dtype(at::kBool)), false},
               &cache);
  cache.SelectRows(at::zeros({rows}, longs));
  if (corrupt) {
    for (std::int64_t i = 0; i < cache.layers(); ++i) {
      if (cache.layer(i).ring) continue;
      cache.layer(i).k.narrow(0, 1, rows - 1).narrow(2, 0, prompt).fill_(NAN);
      cache.layer(i).v.narrow(0, 1, rows - 1).narrow(2, 0, prompt).fill_(NAN);
    }
  }
  if (share) cache.SharePrefix(at::zeros({rows}, longs), prompt);
  at::Tensor pos = at::full({rows, 1}, prompt, longs), column = at::full({1}, prompt, longs);
  std::vector<at::Tensor> hidden;
  for (std::int64_t s = 0; s < steps; ++s) {
    const at::Tensor next = (at::arange(rows, longs) * 11 + s * 37 + 1).remainder(model.config().vocab_size).unsqueeze(1);
    hidden.push_back(model.Hidden({next, pos, {}, false, false, column}, &cache).select(1, 0).to(at::kFloat));
    pos.add_(1);
    column.add_(1);
  }
  return at::stack(hidden);
}

// Rows that share a prompt (KvCache::SharePrefix) read its keys and values from the source
// row: with the other rows' copies broken, the fused step gives bit for bit what intact copies
// give, and with GSPO_ATTENTION_SHARED_PREFIX=0 it reads the broken copies and turns NaN (so
// this can fail).
// Every attention kernel (float32 and bf16 on CUDA cores, bf16 on tensor cores), short runs
// and runs past a split-K chunk.
TEST(FusedDecodeHeadDims, SharedPromptPrefixIsReadFromItsSourceRow) {
  struct Env {
    Env(const char* name, const char* value) : name(name) { ::setenv(name, value, 1); }
    ~Env() { ::unsetenv(name); }
    const char* name;
  };
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    auto model = RandomGemma2(256, 4, dtype);
    ASSERT_TRUE(model);
    for (const char* mma : {"0", "1"}) {  // CUDA cores; tensor cores
      if (dtype == at::kFloat && std::string(mma) == "1") continue;  // the tensor-core kernel is bf16 only
      Env kernel("GSPO_ATTENTION_MMA", mma);
      for (const std::int64_t steps : {12, 300}) {
        const std::string what = std::string(dtype == at::kFloat ? "float32" : "bf16") + " mma " + mma +
                                 " steps " + std::to_string(steps);
        const at::Tensor intact = DecodeSharedPrompt(*model, steps, false, false);
        ASSERT_FALSE(at::isnan(intact).any().item<bool>()) << what;
        EXPECT_TRUE(at::equal(DecodeSharedPrompt(*model, steps, true, true), intact)) << what;
        EXPECT_TRUE(at::equal(DecodeSharedPrompt(*model, steps, false, true), intact)) << what;
        // Switched off, rows 1 and 2 read their broken copies and turn NaN, as the reference ops
        // would (a NaN score must not read as a zero output); row 0 is untouched.
        Env off("GSPO_ATTENTION_SHARED_PREFIX", "0");
        const at::Tensor broken = DecodeSharedPrompt(*model, steps, true, true);
        EXPECT_TRUE(at::equal(broken.select(1, 0), intact.select(1, 0))) << what;
        EXPECT_TRUE(at::isnan(broken.narrow(1, 1, 2)).all().item<bool>()) << what << ": broken copies did not show";
      }
    }
  }
}

// The kept set of top-p as the reference sampler defines it, in float64 on the CPU.
std::set<std::int64_t> KeptSet(const at::Tensor& z_row, double top_p) {
  at::Tensor probs = at::softmax(z_row.to(at::kDouble), -1);
  auto [sorted, order] = at::sort(probs, -1, true);
  std::set<std::int64_t> kept;
  double before = 0;
  for (std::int64_t i = 0; i < sorted.size(0); ++i) {
    if (i > 0 && before >= top_p) break;
    kept.insert(order[i].item<std::int64_t>());
    before += sorted[i].item<double>();
  }
  return kept;
}

void ExpectDrawsFromTheTopPSet(double top_p) {
  const std::int64_t rows = 3, vocab = 5000, draws = 3000;
  const double temperature = 0.7;
  at::manual_seed(11);
  // A few strong tokens over a long tail, different per row.
  at::Tensor logits = at::randn({rows, vocab}) * 0.5 - 2;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < 6; ++j) logits[r][(r * 97 + j * 1013) % vocab] = 4.0 - 0.4 * j;
  }
  const at::Tensor logits_gpu = logits.to(kCuda);
  const auto longs = at::TensorOptions(kCuda).dtype(at::kLong);
  at::Tensor uniforms = at::rand({rows, draws}).to(kCuda);
  at::Tensor out_tokens = at::zeros({rows, draws}, longs);
  at::Tensor out_logprobs = at::zeros({rows, draws}, at::TensorOptions(kCuda).dtype(at::kFloat));
  at::Tensor next = at::zeros({rows, 1}, longs), finished = at::zeros({rows}, longs.dtype(at::kBool));
  at::Tensor row_index = at::arange(rows, longs);
  ASSERT_TRUE(fused::Available(logits_gpu));
  for (std::int64_t s = 0; s < draws; ++s) {
    at::Tensor scratch = logits_gpu.clone();
    fused::Sample({scratch, 0.0, temperature, top_p, false, uniforms, s, row_index, out_tokens, out_logprobs, next,
                   {}, finished});
  }
  const at::Tensor tokens = out_tokens.cpu(), logprobs = out_logprobs.cpu();
  const at::Tensor z = logits / temperature;
  const at::Tensor log_softmax = at::log_softmax(z.to(at::kDouble), -1);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::set<std::int64_t> kept = KeptSet(z[r], top_p);
    ASSERT_GE(kept.size(), 2u);
    std::map<std::int64_t, std::int64_t> counts;
    for (std::int64_t s = 0; s < draws; ++s) {
      const std::int64_t t = tokens[r][s].item<std::int64_t>();
      ASSERT_TRUE(kept.count(t)) << "row " << r << " drew " << t << " outside the top-p set";
      EXPECT_NEAR(logprobs[r][s].item<float>(), log_softmax[r][t].item<double>(), 1e-4);
      ++counts[t];
    }
    double kept_mass = 0;
    for (std::int64_t t : kept) kept_mass += std::exp(log_softmax[r][t].item<double>());
    for (std::int64_t t : kept) {
      const double p = std::exp(log_softmax[r][t].item<double>()) / kept_mass;
      const double freq = static_cast<double>(counts[t]) / draws;
      EXPECT_NEAR(freq, p, 5 * std::sqrt(p * (1 - p) / draws) + 2e-3) << "row " << r << " token " << t;
    }
  }
  // The same uniforms give the same tokens.
  at::Tensor again = at::zeros_like(out_tokens);
  for (std::int64_t s = 0; s < 50; ++s) {
    fused::Sample({logits_gpu.clone(), 0.0, temperature, top_p, false, uniforms, s, row_index, again, out_logprobs,
                   next, {}, finished});
  }
  EXPECT_TRUE(at::equal(again.narrow(1, 0, 50), out_tokens.narrow(1, 0, 50)));
}

// top_p 0.9 keeps hundreds of tokens (most draws are accepted at once); 0.35 keeps the two
// strongest (most first draws are rejected, and some rows run out of rejection rounds and search
// for the boundary instead).
TEST(FusedSampler, DrawsOnlyFromTheTopPSetWithItsProbabilities) {
  for (const double top_p : {0.9, 0.35}) {
    SCOPED_TRACE("top_p " + std::to_string(top_p));
    ExpectDrawsFromTheTopPSet(top_p);
  }
}

// The training norm's node against Gemma's norm written out with LibTorch ops (cast to float32,
// x * rsqrt(mean(x^2) + eps) * scale, cast back), forward and gradient, in float32 and bf16, on
// model rows and on per-head rows.
TEST(FusedNorm, GemmaNormAndItsGradientEqualTheLibTorchOps) {
  at::manual_seed(5);
  const double eps = 1e-6;
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    for (const std::vector<std::int64_t>& shape : {std::vector<std::int64_t>{3, 37, 2304},
                                                  std::vector<std::int64_t>{2, 4, 9, 256},
                                                  std::vector<std::int64_t>{5, 100}}) {
      SCOPED_TRACE(std::string(dtype == at::kFloat ? "float32 " : "bf16 ") + std::to_string(shape.back()));
      const std::int64_t e = shape.back();
      const at::Tensor x0 = (at::randn(shape) * 3 + 0.5).to(kCuda, dtype);
      const at::Tensor scale = (1 + at::randn({e}) * 0.2).to(kCuda);
      const at::Tensor weights = at::randn(shape).to(kCuda);  // loss = sum(out * weights)
      ASSERT_TRUE(FusedGemmaNormApplies(x0, scale));

      const at::Tensor x_fused = x0.clone().requires_grad_(true);
      const at::Tensor fused = FusedGemmaRmsNorm(x_fused, scale, eps);
      (fused.to(at::kFloat) * weights).sum().backward();

      const at::Tensor x_ref = x0.clone().requires_grad_(true);
      const at::Tensor xf = x_ref.to(at::kFloat);
      const at::Tensor ref = (xf * at::rsqrt(xf.pow(2).mean(-1, true) + eps) * scale).to(dtype);
      (ref.to(at::kFloat) * weights).sum().backward();

      ASSERT_EQ(fused.scalar_type(), dtype);
      ASSERT_EQ(fused.sizes(), ref.sizes());
      const double out_scale = ref.to(at::kFloat).abs().max().item<double>();
      const double grad_scale = x_ref.grad().to(at::kFloat).abs().max().item<double>();
      const double out_error = (fused.to(at::kFloat) - ref.to(at::kFloat)).abs().max().item<double>();
      const double grad_error =
          (x_fused.grad().to(at::kFloat) - x_ref.grad().to(at::kFloat)).abs().max().item<double>();
      if (dtype == at::kFloat) {
        EXPECT_LE(out_error, 1e-5 * out_scale);
        EXPECT_LE(grad_error, 1e-5 * grad_scale);
      } else {
        // Summation order alone: at most one bf16 step (2^-8 relative) where a value sits on a
        // rounding boundary; the gradient is rounded once here, twice in the LibTorch chain.
        EXPECT_LE(out_error, out_scale / 128);
        EXPECT_LE(grad_error, grad_scale / 64);
        const double mismatched = (fused != ref).to(at::kFloat).mean().item<double>();
        EXPECT_LE(mismatched, 0.02);
      }
    }
  }
  // A tensor the kernels cannot take keeps the LibTorch path.
  EXPECT_FALSE(FusedGemmaNormApplies(at::randn({4, 8}), at::ones({8})));
  EXPECT_FALSE(FusedGemmaNormApplies(at::randn({8, 4}).to(kCuda).t(), at::ones({8}).to(kCuda)));
}

TEST(FusedSampler, GreedyTakesTheFirstMaxAndStopIdsFinishRows) {
  const auto longs = at::TensorOptions(kCuda).dtype(at::kLong);
  at::Tensor logits = at::zeros({2, 300}, at::kFloat);
  logits[0][40] = 3;
  logits[0][7] = 3;  // a tie: the lower index wins
  logits[1][299] = 1;
  at::Tensor out_tokens = at::zeros({2, 1}, longs), out_logprobs = at::zeros({2, 1}, at::TensorOptions(kCuda));
  at::Tensor next = at::zeros({2, 1}, longs), finished = at::zeros({2}, longs.dtype(at::kBool));
  at::Tensor uniforms = at::zeros({2, 1}, at::TensorOptions(kCuda));
  fused::Sample({logits.to(kCuda), 0.0, 1.0, 1.0, true, uniforms, 0, at::arange(2, longs), out_tokens, out_logprobs,
                 next, at::tensor(std::vector<std::int64_t>{299}, longs), finished});
  EXPECT_EQ(out_tokens.cpu()[0][0].item<std::int64_t>(), 7);
  EXPECT_EQ(out_tokens.cpu()[1][0].item<std::int64_t>(), 299);
  EXPECT_EQ(next.cpu()[1][0].item<std::int64_t>(), 299);
  EXPECT_FALSE(finished.cpu()[0].item<bool>());
  EXPECT_TRUE(finished.cpu()[1].item<bool>());
  const double expected = 3 - std::log(2 * std::exp(3.0) + 298);
  EXPECT_NEAR(out_logprobs.cpu()[0][0].item<float>(), expected, 1e-5);
}

TEST(FusedSampler, SoftCapsBf16LogitsAsTheReferenceOpsDo) {
  at::manual_seed(3);
  const at::Tensor raw = (at::randn({2, 4096}) * 40).to(at::kBFloat16).to(kCuda);
  const double cap = 30;
  const at::Tensor want = at::tanh(raw / cap) * cap;
  at::Tensor logits = raw.clone();
  const auto longs = at::TensorOptions(kCuda).dtype(at::kLong);
  at::Tensor out_tokens = at::zeros({2, 1}, longs), out_logprobs = at::zeros({2, 1}, at::TensorOptions(kCuda));
  at::Tensor next = at::zeros({2, 1}, longs), finished = at::zeros({2}, longs.dtype(at::kBool));
  fused::Sample({logits, cap, 1.0, 0.95, false, at::full({2, 1}, 0.5, at::TensorOptions(kCuda)), 0,
                 at::arange(2, longs), out_tokens, out_logprobs, next, {}, finished});
  const double mismatch = (logits.to(at::kFloat) - want.to(at::kFloat)).abs().max().item<double>();
  EXPECT_LE(mismatch, 0.25) << "bf16 spacing near 30 is 0.125";
  const at::Tensor log_softmax = at::log_softmax(want.to(at::kDouble), -1).cpu();
  for (int r = 0; r < 2; ++r) {
    const std::int64_t t = out_tokens.cpu()[r][0].item<std::int64_t>();
    EXPECT_NEAR(out_logprobs.cpu()[r][0].item<float>(), log_softmax[r][t].item<double>(), 1e-2);
  }
}

}  // namespace
}  // namespace gspo::engine
