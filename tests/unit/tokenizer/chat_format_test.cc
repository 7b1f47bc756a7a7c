// Chat rendering: every apply_chat_template golden (text and ids) of the real Gemma 3 and Qwen3
// files, and hand-worked cases (checked against the templates) for what the goldens leave out:
// Qwen3's <think> handling and tool turns, Unicode trimming, Llama 3 and 3.1, errors.
#include "worker/tokenizer/chat_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/tokenizer/chat_test_util.h"

namespace gspo::tokenizer {
namespace {

using ::testing::HasSubstr;
using testing::LoadChatGoldens;
using testing::RealFormat;
using testing::RealTokenizer;

std::string RenderOrDie(const ChatFormat& format, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt = false, ChatOptions options = {}) {
  options.add_generation_prompt = add_generation_prompt;
  auto text = format.Render(messages, options);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

std::string RenderError(const ChatFormat& format, const std::vector<ChatMessage>& messages) {
  auto text = format.Render(messages, {});
  EXPECT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), common::StatusCode::kInvalidArgument);
  return text.ok() ? "" : text.status().message();
}

class ChatGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ChatGoldenTest, TextEqualsApplyChatTemplate) {
  const ChatFormat format = RealFormat(GetParam());
  const auto goldens = LoadChatGoldens(GetParam());
  ASSERT_EQ(goldens.size(), 12u);
  for (std::size_t i = 0; i < goldens.size(); ++i) {
    EXPECT_EQ(RenderOrDie(format, goldens[i].messages, goldens[i].add_generation_prompt),
              goldens[i].text)
        << "case " << i;
  }
}

TEST_P(ChatGoldenTest, IdsEqualApplyChatTemplate) {
  const ChatFormat format = RealFormat(GetParam());
  const Tokenizer* tokenizer = RealTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  const auto goldens = LoadChatGoldens(GetParam());
  ASSERT_EQ(goldens.size(), 12u);
  for (std::size_t i = 0; i < goldens.size(); ++i) {
    ChatOptions options;
    options.add_generation_prompt = goldens[i].add_generation_prompt;
    auto ids = format.RenderIds(*tokenizer, goldens[i].messages, options);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, goldens[i].ids) << "case " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(RealFiles, ChatGoldenTest, ::testing::Values("gemma3", "qwen3"));

TEST(GemmaFormat, FoldsTheSystemMessageAndTrimsUnicodeWhitespace) {
  const ChatFormat gemma = ChatFormat::ForFamily(ChatFamily::kGemma);
  // The system text is not trimmed (the template adds it as is); contents are, by str.strip().
  EXPECT_EQ(RenderOrDie(gemma, {{"system", " Sys ", {}}, {"user", "\u00a0 hi \u3000", {}}}, true),
            "<bos><start_of_turn>user\n Sys \n\nhi<end_of_turn>\n<start_of_turn>model\n");
  // U+200B is not whitespace to Python, so trimming stops at it.
  EXPECT_EQ(RenderOrDie(gemma, {{"user", "hi \u200b ", {}}}),
            "<bos><start_of_turn>user\nhi \u200b<end_of_turn>\n");
  // A conversation of only a system message renders just the BOS, as the template does.
  EXPECT_EQ(RenderOrDie(gemma, {{"system", "S", {}}}, true), "<bos><start_of_turn>model\n");
}

TEST(GemmaFormat, RejectsWhatTheTemplateRejects) {
  const ChatFormat gemma = ChatFormat::ForFamily(ChatFamily::kGemma);
  EXPECT_EQ(RenderError(gemma, {{"user", "a", {}}, {"user", "b", {}}}),
            "messages[1]: roles must alternate user/assistant/user/... (gemma); got 'user' where "
            "'assistant' belongs");
  EXPECT_EQ(RenderError(gemma, {{"system", "s", {}}, {"assistant", "a", {}}}),
            "messages[1]: roles must alternate user/assistant/user/... (gemma); got 'assistant' "
            "where 'user' belongs");
  EXPECT_EQ(RenderError(gemma, {{"user", "a", {}}, {"bot", "b", {}}}),
            "messages[1]: unknown role 'bot' (gemma takes system, user, assistant)");
  EXPECT_EQ(RenderError(gemma, {{"user", "a", {}}, {"system", "b", {}}}),
            "messages[1]: a system message must come first (gemma)");
  EXPECT_EQ(RenderError(gemma, {}), "messages: the conversation is empty");
}

TEST(ChatMlFormat, Qwen3ThinkBlocks) {
  const ChatFormat qwen3 = RealFormat("qwen3");
  ASSERT_TRUE(qwen3.traits().reasoning);
  const ChatMessage thought{"assistant", "<think>\nGreet back.\n</think>\n\nHello!", {}};
  // The last assistant turn keeps its reasoning...
  EXPECT_EQ(RenderOrDie(qwen3, {{"user", "Hi", {}}, thought}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nGreet back.\n</think>"
            "\n\nHello!<|im_end|>\n");
  // ...one before the last user message loses it.
  EXPECT_EQ(RenderOrDie(qwen3, {{"user", "Hi", {}}, thought, {"user", "Bye", {}}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nBye<|im_end|>\n");
  EXPECT_EQ(RenderOrDie(qwen3, {{"user", "Hi", {}}, {"assistant", "Hello!", "\nGreet.\n"}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nGreet.\n</think>\n\n"
            "Hello!<|im_end|>\n");
  ChatOptions no_thinking;
  no_thinking.enable_thinking = false;
  EXPECT_EQ(RenderOrDie(qwen3, {{"user", "Hi", {}}}, true, no_thinking),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(ChatMlFormat, Qwen3ToolResultsAndLaterSystemMessages) {
  const ChatFormat qwen3 = RealFormat("qwen3");
  EXPECT_EQ(RenderOrDie(qwen3, {{"user", "Weather?", {}},
                                {"assistant", "Checking.", {}},
                                {"tool", "sunny", {}},
                                {"tool", "20C", {}},
                                {"assistant", "Sunny, 20C.", {}}}),
            "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\nChecking.<|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\n20C\n"
            "</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
            "Sunny, 20C.<|im_end|>\n");
  EXPECT_EQ(
      RenderOrDie(qwen3, {{"user", "Hi", {}}, {"system", "Be terse.", {}}, {"user", "Go", {}}}),
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>system\nBe terse.<|im_end|>\n"
      "<|im_start|>user\nGo<|im_end|>\n");
  EXPECT_EQ(RenderError(qwen3, {{"narrator", "x", {}}}),
            "messages[0]: unknown role 'narrator' (chatml takes system, user, assistant, tool)");
}

TEST(ChatMlFormat, PlainAndDefaultSystem) {
  ChatTemplateTraits traits;
  traits.default_system = "You are a helpful assistant.";
  const ChatFormat qwen2(ChatFamily::kChatMl, traits);
  EXPECT_EQ(RenderOrDie(qwen2, {{"user", "Hi", {}}, {"assistant", "<think>x</think>Yo", {}}}, true),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi"
            "<|im_end|>\n<|im_start|>assistant\n<think>x</think>Yo<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(RenderOrDie(qwen2, {{"system", "S", {}}, {"user", "Hi", {}}}),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(Llama3Format, PlainLlama3) {
  const ChatFormat llama = ChatFormat::ForFamily(ChatFamily::kLlama3);
  EXPECT_EQ(RenderOrDie(llama,
                        {{"system", "Be kind.", {}},
                         {"user", " Hi there ", {}},
                         {"assistant", "Hello!\n", {}},
                         {"user", "Bye", {}}},
                        true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe kind.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(RenderError(llama, {{"ipython", "x", {}}}),
            "messages[0]: unknown role 'ipython' (llama3 takes system, user, assistant)");
}

TEST(Llama3Format, KnowledgeDateHeaderOfLlama31) {
  ChatTemplateTraits traits = ChatFormat::ForFamily(ChatFamily::kLlama3).traits();
  traits.knowledge_date_header = true;
  const ChatFormat llama31(ChatFamily::kLlama3, traits);
  EXPECT_EQ(RenderOrDie(llama31, {{"system", " Be kind. ", {}}, {"user", "Hi", {}}}, true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe kind.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  ChatOptions dated;
  dated.date_string = "01 Dec 2026";
  EXPECT_EQ(RenderOrDie(llama31, {{"user", "Hi", {}}}, false, dated),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 01 Dec 2026\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

TEST(ChatFormatPieces, FollowUpTurnsAndEndOfTurn) {
  const ChatFormat gemma = ChatFormat::ForFamily(ChatFamily::kGemma);
  const ChatFormat chatml = ChatFormat::ForFamily(ChatFamily::kChatMl);
  const ChatFormat llama = ChatFormat::ForFamily(ChatFamily::kLlama3);
  EXPECT_EQ(*gemma.RenderFollowUpTurn({"user", " ok ", {}}),
            "<start_of_turn>user\nok<end_of_turn>\n");
  EXPECT_EQ(*chatml.RenderFollowUpTurn({"tool", "42", {}}),
            "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n");
  EXPECT_EQ(*llama.RenderFollowUpTurn({"user", "ok", {}}),
            "<|start_header_id|>user<|end_header_id|>\n\nok<|eot_id|>");
  auto bad = gemma.RenderFollowUpTurn({"system", "x", {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("gemma takes user"));
  EXPECT_EQ(gemma.EndOfTurnToken(), "<end_of_turn>");
  EXPECT_EQ(chatml.EndOfTurnToken(), "<|im_end|>");
  EXPECT_EQ(llama.EndOfTurnToken(), "<|eot_id|>");
  EXPECT_EQ(gemma.AfterEndOfTurn(), "\n");
  EXPECT_EQ(chatml.AfterEndOfTurn(), "\n");
  EXPECT_EQ(llama.AfterEndOfTurn(), "");
}

}  // namespace
}  // namespace gspo::tokenizer
