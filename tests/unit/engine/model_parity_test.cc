// The engine against Hugging Face transformers on CPU in float32: logits and 30-token greedy
// continuations of tiny random models of every architecture (tests/data/models, written by
// scripts/gpu/make_model_goldens.py from transformers; prompts are longer than the sliding
// window, and the configs use odd values so that no hard-coded constant can pass).
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";

struct Golden {
  at::Tensor input_ids;  // [2,40]
  at::Tensor logits;     // [2,40,V]
  at::Tensor greedy;     // [2,70]
};

Golden LoadGolden(const std::string& arch) {
  auto file = SafetensorsFile::Open(kModels + arch + "/golden.safetensors");
  EXPECT_TRUE(file.ok()) << file.status();
  const auto get = [&](const char* name) { return ViewAsTensor(*(*file)->Find(name)).clone(); };
  return {get("input_ids"), get("logits"), get("greedy")};
}

std::unique_ptr<DecoderModel> LoadModel(const std::string& dir) {
  auto model = DecoderModel::Load(dir, at::kFloat, at::kCPU);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(*model) : nullptr;
}

double RelativeError(const at::Tensor& got, const at::Tensor& want) {
  return (got - want).abs().max().item<double>() / want.abs().max().item<double>();
}

// Greedy decoding with the KV cache: prefill the prompt, then one token per step.
at::Tensor GreedyWithCache(const DecoderModel& model, const at::Tensor& prompt, int new_tokens) {
  KvCache cache(model.config(), prompt.size(0), prompt.size(1) + new_tokens, at::kFloat, at::kCPU);
  at::Tensor seq = prompt, step = prompt;
  for (int i = 0; i < new_tokens; ++i) {
    at::Tensor hidden = model.Hidden({step, {}, {}}, &cache);
    step = model.Logits(hidden.select(1, hidden.size(1) - 1)).argmax(-1, true);
    seq = at::cat({seq, step}, 1);
  }
  return seq;
}

class ModelParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelParity, LogitsMatchTransformers) {
  c10::NoGradGuard no_grad;
  auto model = LoadModel(kModels + GetParam());
  ASSERT_NE(model, nullptr);
  Golden golden = LoadGolden(GetParam());
  at::Tensor logits = model->Forward({golden.input_ids, {}, {}});
  EXPECT_LE(RelativeError(logits, golden.logits), 1e-4);
}

TEST_P(ModelParity, GreedyContinuationMatchesTransformersTokenForToken) {
  c10::NoGradGuard no_grad;
  auto model = LoadModel(kModels + GetParam());
  ASSERT_NE(model, nullptr);
  Golden golden = LoadGolden(GetParam());
  at::Tensor seq = GreedyWithCache(*model, golden.input_ids, 30);
  EXPECT_TRUE(at::equal(seq, golden.greedy)) << "ours:\n" << seq << "\ntransformers:\n" << golden.greedy;
}

TEST_P(ModelParity, ChunkedPrefillMatchesOneForward) {
  // Prefill in chunks of 5 (smaller than a sliding window of 8, so ring buffers wrap between
  // chunks), then compare the last chunk's logits with one full forward.
  c10::NoGradGuard no_grad;
  auto model = LoadModel(kModels + GetParam());
  ASSERT_NE(model, nullptr);
  Golden golden = LoadGolden(GetParam());
  KvCache cache(model->config(), 2, 40, at::kFloat, at::kCPU);
  at::Tensor last;
  for (int start = 0; start < 40; start += 5) {
    last = model->Forward({golden.input_ids.narrow(1, start, 5), {}, {}}, &cache);
  }
  EXPECT_LE(RelativeError(last, golden.logits.narrow(1, 35, 5)), 1e-4);
}

TEST_P(ModelParity, LeftPaddingDoesNotChangeTheRealTokens) {
  c10::NoGradGuard no_grad;
  auto model = LoadModel(kModels + GetParam());
  ASSERT_NE(model, nullptr);
  Golden golden = LoadGolden(GetParam());
  // Row 0 keeps all 40 tokens; row 1 drops its first 3 and is left-padded with id 0.
  at::Tensor ids = golden.input_ids.clone();
  ids[1].narrow(0, 0, 3).fill_(0);
  at::Tensor valid = at::ones({2, 40}, at::kBool);
  valid[1].narrow(0, 0, 3).fill_(false);
  at::Tensor positions = at::arange(40, at::kLong).unsqueeze(0).repeat({2, 1});
  positions[1] = (positions[1] - 3).clamp_min(0);
  at::Tensor padded = model->Forward({ids, positions, valid});
  at::Tensor alone = model->Forward({golden.input_ids[1].narrow(0, 3, 37).unsqueeze(0), {}, {}});
  EXPECT_LE(RelativeError(padded[1].narrow(0, 3, 37), alone[0]), 1e-5);
  EXPECT_LE(RelativeError(padded[0], golden.logits[0]), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, ModelParity,
                         ::testing::Values("gemma2", "gemma3", "qwen2", "qwen3", "llama"));

// model.attn_implementation: the names a job takes; sdpa and flash refuse a soft-capped model
// (Gemma 2) rather than drop its cap; eager suits every model and keeps the logits.
TEST(AttentionImplementationChoice, SdpaRefusesASoftCappedModel) {
  EXPECT_EQ(*ParseAttentionImplementation("auto"), AttentionImplementation::kAuto);
  EXPECT_EQ(*ParseAttentionImplementation("eager"), AttentionImplementation::kEager);
  EXPECT_EQ(*ParseAttentionImplementation("sdpa"), AttentionImplementation::kScaledDotProduct);
  EXPECT_EQ(*ParseAttentionImplementation("flash"), AttentionImplementation::kScaledDotProduct);
  const auto bad = ParseAttentionImplementation("flash_attention_2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "model.attn_implementation: expected auto, sdpa, eager or flash, got 'flash_attention_2'");

  auto gemma2 = LoadModel(kModels + "gemma2");
  ASSERT_NE(gemma2, nullptr);
  const common::Status refused = gemma2->SetAttentionImplementation(AttentionImplementation::kScaledDotProduct);
  EXPECT_EQ(refused.code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("cannot apply this model's attention soft-cap (attn_logit_softcapping 5)"),
            std::string::npos) << refused.message();
  EXPECT_EQ(gemma2->attention_implementation(), AttentionImplementation::kAuto);
  ASSERT_TRUE(gemma2->SetAttentionImplementation(AttentionImplementation::kEager).ok());
  Golden golden = LoadGolden("gemma2");
  c10::NoGradGuard no_grad;
  EXPECT_LE(RelativeError(gemma2->Forward({golden.input_ids, {}, {}}), golden.logits), 1e-4);

  auto llama = LoadModel(kModels + "llama");
  ASSERT_NE(llama, nullptr);
  EXPECT_TRUE(llama->SetAttentionImplementation(AttentionImplementation::kScaledDotProduct).ok());
  EXPECT_EQ(llama->attention_implementation(), AttentionImplementation::kScaledDotProduct);
}

// A multimodal Gemma 3 checkpoint: config under text_config, weights under language_model.
TEST(ModelLoading, MultimodalGemma3TextPart) {
  c10::NoGradGuard no_grad;
  gspo::testing::ScopedTempDir dir;
  auto text = common::ReadFileToString(kModels + "gemma3/config.json", 1 << 20);
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(common::WriteFileAtomically(
                  dir.Join("config.json"),
                  "{\"model_type\": \"gemma3\", \"architectures\": "
                  "[\"Gemma3ForConditionalGeneration\"], \"text_config\": " + *text + "}")
                  .ok());
  auto weights = SafetensorsFile::Open(kModels + "gemma3/model.safetensors");
  ASSERT_TRUE(weights.ok());
  std::vector<std::pair<std::string, at::Tensor>> renamed;
  for (const TensorView& view : (*weights)->tensors()) {
    renamed.emplace_back("language_model." + view.name, ViewAsTensor(view).clone());
  }
  renamed.emplace_back("vision_tower.unused.weight", at::zeros({2}));
  ASSERT_TRUE(SaveTensors(dir.Join("model.safetensors"), renamed, {}).ok());
  auto model = LoadModel(dir.path());
  ASSERT_NE(model, nullptr);
  Golden golden = LoadGolden("gemma3");
  EXPECT_LE(RelativeError(model->Forward({golden.input_ids, {}, {}}), golden.logits), 1e-4);
}

}  // namespace
}  // namespace gspo::engine
