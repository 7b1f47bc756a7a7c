// Picking the chat family and its traits from a model directory's JSON files (small hand-made
// ones in a temp dir, and the real Gemma 3 / Qwen3 files), and the end-of-turn ids.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"
#include "tests/unit/tokenizer/chat_test_util.h"
#include "worker/tokenizer/chat_format.h"

namespace gspo::tokenizer {
namespace {

using ::testing::ElementsAre;
using testing::FakeTokenizer;
using ::testing::HasSubstr;

// A model directory holding the given files.
class ModelDir {
 public:
  ModelDir& With(const std::string& name, const std::string& contents) {
    EXPECT_TRUE(common::WriteFileAtomically(dir_.Join(name), contents).ok());
    return *this;
  }
  common::StatusOr<ChatFormat> Load() const { return ChatFormat::FromDirectory(dir_.path()); }
  const std::string& path() const { return dir_.path(); }

 private:
  gspo::testing::ScopedTempDir dir_;
};

ChatFamily FamilyOf(const ModelDir& dir) {
  auto format = dir.Load();
  EXPECT_TRUE(format.ok()) << format.status();
  return format.ok() ? format->family() : ChatFamily::kGemma;
}

TEST(ChatConfig, FamilyFromTheTemplateText) {
  EXPECT_EQ(FamilyOf(ModelDir().With("tokenizer_config.json",
                                     R"({"chat_template": "{{ '<start_of_turn>user' }}"})")),
            ChatFamily::kGemma);
  EXPECT_EQ(FamilyOf(ModelDir().With("tokenizer_config.json",
                                     R"({"chat_template": "{{ '<|im_start|>' }}"})")),
            ChatFamily::kChatMl);
  EXPECT_EQ(FamilyOf(ModelDir().With("tokenizer_config.json",
                                     R"({"chat_template": "{{ '<|start_header_id|>' }}"})")),
            ChatFamily::kLlama3);
  // The template wins over every other hint; chat_template.jinja over tokenizer_config.json.
  EXPECT_EQ(
      FamilyOf(
          ModelDir()
              .With("tokenizer_config.json",
                    R"({"chat_template": "<|im_start|>", "tokenizer_class": "GemmaTokenizer"})")
              .With("config.json", R"({"model_type": "gemma2"})")),
      ChatFamily::kChatMl);
  EXPECT_EQ(FamilyOf(ModelDir()
                         .With("tokenizer_config.json", R"({"chat_template": "<|im_start|>"})")
                         .With("chat_template.jinja", "{{ bos_token }}<start_of_turn>")),
            ChatFamily::kGemma);
  // A list of named templates: "default" is used.
  EXPECT_EQ(FamilyOf(ModelDir().With(
                "tokenizer_config.json",
                R"({"chat_template": [{"name": "tool_use", "template": "<|im_start|>"},
                                      {"name": "default", "template": "<|start_header_id|>"}]})")),
            ChatFamily::kLlama3);
}

TEST(ChatConfig, FamilyFromSpecialTokensClassAndModelType) {
  EXPECT_EQ(FamilyOf(ModelDir().With(
                "tokenizer_config.json",
                R"({"added_tokens_decoder": {"128006": {"content": "<|start_header_id|>"}}})")),
            ChatFamily::kLlama3);
  EXPECT_EQ(FamilyOf(ModelDir().With("tokenizer_config.json",
                                     R"({"additional_special_tokens": ["<|im_start|>"]})")),
            ChatFamily::kChatMl);
  EXPECT_EQ(FamilyOf(ModelDir().With("tokenizer_config.json",
                                     R"({"tokenizer_class": "GemmaTokenizerFast"})")),
            ChatFamily::kGemma);
  EXPECT_EQ(FamilyOf(ModelDir().With("config.json", R"({"model_type": "qwen3"})")),
            ChatFamily::kChatMl);
  EXPECT_EQ(
      FamilyOf(ModelDir().With("config.json", R"({"model_type": "gemma3", "text_config": {}})")),
      ChatFamily::kGemma);
  EXPECT_EQ(
      FamilyOf(ModelDir().With("config.json", R"({"model_type": "llama", "vocab_size": 128256})")),
      ChatFamily::kLlama3);
}

TEST(ChatConfig, UnknownFormatsAreErrors) {
  ModelDir llama2;
  llama2.With("config.json", R"({"model_type": "llama", "vocab_size": 32000})");
  auto format = llama2.Load();
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(format.status().message(),
            llama2.path() +
                ": unknown chat format: neither tokenizer_config.json (chat template, "
                "special tokens, tokenizer_class) nor config.json (model_type) names "
                "Gemma, ChatML (Qwen) or Llama 3");

  ModelDir mistral;
  mistral.With("tokenizer_config.json", R"({"chat_template": "[INST] {{ m }} [/INST]"})");
  format = mistral.Load();
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.status().message(), mistral.path() +
                                           ": unknown chat format: the chat template uses none of "
                                           "<start_of_turn> (Gemma), <|im_start|> (ChatML, Qwen), "
                                           "<|start_header_id|> (Llama 3)");

  ModelDir empty;
  format = empty.Load();
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.status().code(), common::StatusCode::kNotFound);
  EXPECT_THAT(format.status().message(), HasSubstr("no tokenizer_config.json"));

  ModelDir broken;
  broken.With("tokenizer_config.json", R"({"chat_template": )");
  format = broken.Load();
  ASSERT_FALSE(format.ok());
  EXPECT_THAT(format.status().message(), HasSubstr(broken.path() + "/tokenizer_config.json:1:"));

  format = ChatFormat::FromDirectory("/nonexistent/model");
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.status().message(), "/nonexistent/model: no such directory");
}

TEST(ChatConfig, TraitsFromTheTemplate) {
  auto qwen2 =
      ModelDir()
          .With(
              "tokenizer_config.json",
              R"({"chat_template": "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"})")
          .Load();
  ASSERT_TRUE(qwen2.ok()) << qwen2.status();
  EXPECT_EQ(qwen2->traits().default_system, "You are a helpful assistant.");
  EXPECT_FALSE(qwen2->traits().reasoning);

  auto llama31 =
      ModelDir()
          .With(
              "tokenizer_config.json",
              R"({"bos_token": "<|begin_of_text|>", "chat_template": "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023"})")
          .Load();
  ASSERT_TRUE(llama31.ok()) << llama31.status();
  EXPECT_TRUE(llama31->traits().knowledge_date_header);
  EXPECT_EQ(llama31->traits().bos_token, "<|begin_of_text|>");

  const ChatFormat qwen3 = testing::RealFormat("qwen3");
  EXPECT_EQ(qwen3.family(), ChatFamily::kChatMl);
  EXPECT_TRUE(qwen3.traits().reasoning);
  EXPECT_EQ(qwen3.traits().default_system, "");
  EXPECT_EQ(qwen3.traits().bos_token, "");
  const ChatFormat gemma3 = testing::RealFormat("gemma3");
  EXPECT_EQ(gemma3.family(), ChatFamily::kGemma);
  EXPECT_EQ(gemma3.traits().bos_token, "<bos>");
}

TEST(ChatConfig, EndOfTurnIds) {
  const FakeTokenizer tokenizer({"<bos>", "<eos>", "<end_of_turn>", "<|im_end|>"});
  const std::string gemma = R"({"chat_template": "<start_of_turn>"})";
  auto format =
      ModelDir()
          .With("tokenizer_config.json", gemma)
          .With("generation_config.json", R"({"eos_token_id": [1, 2], "bos_token_id": 0})")
          .Load();
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_THAT(format->generation_eos_ids(), ElementsAre(1, 2));
  EXPECT_THAT(*format->EndOfTurnIds(tokenizer), ElementsAre(1, 2));
  EXPECT_EQ(*format->EndOfTurnId(tokenizer), 2);

  format = ModelDir()
               .With("tokenizer_config.json", gemma)
               .With("generation_config.json", R"({"eos_token_id": 1})")
               .Load();
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_THAT(*format->EndOfTurnIds(tokenizer), ElementsAre(1, 2));

  format = ModelDir().With("tokenizer_config.json", gemma).Load();
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_THAT(*format->EndOfTurnIds(tokenizer), ElementsAre(2));

  ModelDir bad;
  bad.With("tokenizer_config.json", gemma)
      .With("generation_config.json", R"({"eos_token_id": "1"})");
  format = bad.Load();
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.status().message(),
            bad.path() +
                "/generation_config.json: eos_token_id: expected a non-negative integer "
                "or a list of them, got \"1\"");

  // A tokenizer without the family's token cannot end turns.
  auto ids = ChatFormat::ForFamily(ChatFamily::kLlama3).EndOfTurnIds(tokenizer);
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().message(),
            "the tokenizer has no <|eot_id|> token, which ends turns in the llama3 chat format");

  // The real files: <end_of_turn> is 106 in Gemma 3, <|im_end|> 151645 in Qwen3.
  const Tokenizer* gemma3 = testing::RealTokenizer("gemma3");
  const Tokenizer* qwen3 = testing::RealTokenizer("qwen3");
  ASSERT_NE(gemma3, nullptr);
  ASSERT_NE(qwen3, nullptr);
  EXPECT_THAT(*testing::RealFormat("gemma3").EndOfTurnIds(*gemma3), ElementsAre(106));
  EXPECT_THAT(*testing::RealFormat("qwen3").EndOfTurnIds(*qwen3), ElementsAre(151645));
}

}  // namespace
}  // namespace gspo::tokenizer
