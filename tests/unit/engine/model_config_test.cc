// config.json parsing: every architecture's switches, and a clear error for each bad config.
#include "worker/engine/model/model_config.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/rope.h"
#include "worker/engine/model/safetensors_torch.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";

ModelConfig Parse(const std::string& arch) {
  auto text = common::ReadFileToString(kModels + arch + "/config.json", 1 << 20);
  EXPECT_TRUE(text.ok());
  auto config = ParseModelConfig(*text, arch + "/config.json");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : ModelConfig{};
}

std::string ErrorOf(const std::string& json) {
  auto config = ParseModelConfig(json, "config.json");
  return config.ok() ? "OK" : config.status().message();
}

TEST(ModelConfig, Gemma2Switches) {
  ModelConfig c = Parse("gemma2");
  EXPECT_TRUE(c.scale_embeddings && c.norm_adds_one && c.sandwich_norms);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_DOUBLE_EQ(c.attention_scale, 1 / std::sqrt(20.0));
  EXPECT_EQ(c.attn_logit_softcap, 5.0);
  EXPECT_EQ(c.final_logit_softcap, 3.0);
  ASSERT_EQ(c.layers.size(), 4u);
  EXPECT_TRUE(c.layers[0].sliding);  // even layers are local
  EXPECT_FALSE(c.layers[1].sliding);
  EXPECT_EQ(c.activation, Activation::kGeluTanh);
}

TEST(ModelConfig, Gemma3LocalAndGlobalRope) {
  ModelConfig c = Parse("gemma3");
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attn_logit_softcap.has_value());
  ASSERT_EQ(c.layers.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(c.layers[i].sliding, i != 5) << i;
  EXPECT_EQ(c.layers[0].rope.base, 10000.0);
  EXPECT_EQ(c.layers[0].rope.scaling, "default");
  EXPECT_EQ(c.layers[5].rope.base, 1e6);
  EXPECT_EQ(c.layers[5].rope.scaling, "linear");
  EXPECT_EQ(c.layers[5].rope.factor, 4.0);
}

TEST(ModelConfig, Gemma3NewerRopeParametersLayout) {
  auto config = ParseModelConfig(R"({"model_type": "gemma3_text", "vocab_size": 8,
      "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
      "head_dim": 4, "layer_types": ["sliding_attention", "full_attention"],
      "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                          "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}})",
                                 "config.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->layers[0].rope.base, 1e4);
  EXPECT_EQ(config->layers[1].rope.factor, 8.0);
  EXPECT_EQ(config->layers[1].rope.base, 1e6);
}

TEST(ModelConfig, QwenAndLlamaSwitches) {
  ModelConfig qwen2 = Parse("qwen2");
  EXPECT_TRUE(qwen2.qkv_bias);
  EXPECT_FALSE(qwen2.o_bias || qwen2.qk_norm || qwen2.tie_word_embeddings);
  EXPECT_EQ(qwen2.head_dim, 8);
  ModelConfig qwen3 = Parse("qwen3");
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_EQ(qwen3.head_dim, 24);
  ModelConfig llama = Parse("llama");
  EXPECT_EQ(llama.layers[0].rope.scaling, "llama3");
  EXPECT_EQ(llama.layers[0].rope.original_max_positions, 32);
  EXPECT_EQ(llama.activation, Activation::kSilu);
}

// llama3 scaling by hand for D = 4, base 10000: inv_freq = [1, 0.01]; wavelengths 2*pi and
// 628.3. With original length 32, low factor 1, high factor 4: low wavelength 32, high 8.
// 2*pi < 8 keeps 1; 628.3 > 32 divides 0.01 by factor 8 -> 0.00125.
TEST(Rope, Llama3ScalingByHand) {
  RopeSpec spec;
  spec.scaling = "llama3";
  spec.factor = 8;
  spec.low_freq_factor = 1;
  spec.high_freq_factor = 4;
  spec.original_max_positions = 32;
  at::Tensor inv = RopeInverseFrequencies(spec, 4);
  EXPECT_FLOAT_EQ(inv[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(inv[1].item<float>(), 0.00125f);
  spec.scaling = "linear";
  spec.factor = 4;
  EXPECT_FLOAT_EQ(RopeInverseFrequencies(spec, 4)[1].item<float>(), 0.0025f);
}

TEST(Rope, RotatesPairsByPositionTimesFrequency) {
  // x = [1, 0, 0, 0] (pairs (x0, x2) and (x1, x3)) at position 2 with inv_freq [1, 0.01]:
  // x0' = cos(2) * 1.
  RotaryEmbedding rope(RopeSpec{}, 4, at::kCPU);
  auto [cos, sin] = rope.CosSin(at::full({1, 1}, 2, at::kLong), at::kFloat);
  at::Tensor x = at::tensor({1.0f, 0.0f, 0.0f, 0.0f}).reshape({1, 1, 1, 4});
  at::Tensor y = ApplyRotary(x, cos, sin);
  EXPECT_NEAR(y[0][0][0][0].item<float>(), std::cos(2.0), 1e-6);
  EXPECT_NEAR(y[0][0][0][2].item<float>(), std::sin(2.0), 1e-6);
}

TEST(ModelConfig, UnknownModelType) {
  EXPECT_EQ(ErrorOf(R"({"model_type": "gpt2", "vocab_size": 8})"),
            "config.json: model_type: unsupported 'gpt2'; expected one of gemma2, gemma3, "
            "gemma3_text, qwen2, qwen3, llama");
}

TEST(ModelConfig, MissingField) {
  EXPECT_EQ(ErrorOf(R"({"model_type": "llama", "vocab_size": 8, "hidden_size": 8,
                        "num_hidden_layers": 1, "num_attention_heads": 2})"),
            "config.json: intermediate_size: required field is missing");
}

TEST(ModelConfig, WrongFieldType) {
  EXPECT_EQ(ErrorOf(R"({"model_type": "llama", "vocab_size": "many"})"),
            "config.json: vocab_size: expected an integer, got \"many\"");
}

TEST(ModelConfig, HeadsNotAMultipleOfKvHeads) {
  EXPECT_EQ(ErrorOf(R"({"model_type": "llama", "vocab_size": 8, "hidden_size": 8,
                        "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4,
                        "num_key_value_heads": 3})"),
            "config.json: num_key_value_heads: expected a positive divisor of "
            "num_attention_heads (4), got 3");
}

TEST(ModelConfig, MultimodalWithoutTextConfig) {
  EXPECT_EQ(ErrorOf(R"({"model_type": "gemma3"})"),
            "config.json: text_config: a gemma3 config needs a text_config object");
}

TEST(ModelConfig, BadJson) {
  EXPECT_EQ(ErrorOf("{\"model_type\": \"llama\",}").substr(0, 14), "config.json:1:");
}

TEST(ModelLoading, WrongShapeNamesTheTensor) {
  gspo::testing::ScopedTempDir dir;
  auto config = common::ReadFileToString(kModels + "llama/config.json", 1 << 20);
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("config.json"), *config).ok());
  auto weights = SafetensorsFile::Open(kModels + "llama/model.safetensors");
  ASSERT_TRUE(weights.ok());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const TensorView& view : (*weights)->tensors()) {
    at::Tensor t = ViewAsTensor(view).clone();
    if (view.name == "model.layers.1.mlp.up_proj.weight") t = t.narrow(0, 0, 95).clone();
    if (view.name != "model.layers.2.self_attn.k_proj.weight") tensors.emplace_back(view.name, t);
  }
  ASSERT_TRUE(SaveTensors(dir.Join("model.safetensors"), tensors, {}).ok());
  auto model = DecoderModel::Load(dir.path(), at::kFloat, at::kCPU);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), dir.path() + ": tensor 'model.layers.1.mlp.up_proj.weight' "
                                                   "has shape [95, 48], expected [96, 48] from "
                                                   "config.json");
  // With the shape repaired, the missing tensor is reported.
  for (auto& [name, t] : tensors) {
    if (name == "model.layers.1.mlp.up_proj.weight") t = at::zeros({96, 48});
  }
  ASSERT_TRUE(SaveTensors(dir.Join("model.safetensors"), tensors, {}).ok());
  model = DecoderModel::Load(dir.path(), at::kFloat, at::kCPU);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("model.layers.2.self_attn.k_proj.weight"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace gspo::engine
