// Token-in/token-out episodes: built turn by turn, they equal apply_chat_template's ids of the
// whole conversation when the assistant's ids are its content's encoding + end-of-turn, for
// every multi-turn golden; the assistant mask; turns cut by length; what Qwen3's template
// rewrites in past turns and the episode keeps; misuse.
#include "worker/tokenizer/chat_episode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "tests/unit/tokenizer/chat_test_util.h"

namespace gspo::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using testing::FakeTokenizer;
using ::testing::HasSubstr;
using testing::RealFormat;
using testing::RealTokenizer;
using Ids = std::vector<std::int32_t>;

Ids Concat(Ids a, const Ids& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool HasOuterWhitespace(const std::string& text) {
  return !text.empty() && (std::isspace(static_cast<unsigned char>(text.front())) ||
                           std::isspace(static_cast<unsigned char>(text.back())));
}

// Builds each golden conversation turn by turn and compares with the golden ids. Cases left out:
// no assistant turn (nothing to build), assistant contents with outer whitespace (the templates
// trim or re-tokenize them), and a generation prompt right after an assistant turn (an episode
// never asks for one there).
class EpisodeGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(EpisodeGoldenTest, EqualsApplyChatTemplateOfTheWholeConversation) {
  const std::string name = GetParam();
  const Tokenizer* tokenizer = RealTokenizer(name);
  ASSERT_NE(tokenizer, nullptr);
  const ChatFormat format = RealFormat(name);
  const std::int32_t end_of_turn = *format.EndOfTurnId(*tokenizer);
  int checked = 0;
  for (const testing::ChatGolden& golden : testing::LoadChatGoldens(name)) {
    const auto& messages = golden.messages;
    const auto first_assistant =
        std::find_if(messages.begin(), messages.end(),
                     [](const ChatMessage& m) { return m.role == "assistant"; });
    if (first_assistant == messages.end()) continue;
    if (std::any_of(messages.begin(), messages.end(), [](const ChatMessage& m) {
          return m.role == "assistant" && HasOuterWhitespace(m.content);
        })) {
      continue;
    }
    const bool ends_with_assistant = messages.back().role == "assistant";
    if (ends_with_assistant && golden.add_generation_prompt) continue;
    SCOPED_TRACE(name + " case " + golden.text);

    // Qwen3 renders the final assistant turn after an empty think block: what a prompt with
    // enable_thinking=false asks the model for.
    ChatOptions options;
    options.enable_thinking = !(ends_with_assistant && format.traits().reasoning);
    auto builder = EpisodeBuilder::Create(*tokenizer, format, options);
    ASSERT_TRUE(builder.ok()) << builder.status();
    auto prompt = builder->Start(std::vector<ChatMessage>(messages.begin(), first_assistant));
    ASSERT_TRUE(prompt.ok()) << prompt.status();
    Ids expected = *prompt;
    for (auto it = first_assistant; it != messages.end(); ++it) {
      if (it->role == "assistant") {
        const Ids sampled = Concat(tokenizer->Encode(it->content, false), {end_of_turn});
        auto closing = builder->AppendAssistant(sampled);
        ASSERT_TRUE(closing.ok()) << closing.status();
        EXPECT_TRUE(closing->empty());
        expected = Concat(expected, sampled);
      } else {
        auto appended = builder->AppendUser(it->content);
        ASSERT_TRUE(appended.ok()) << appended.status();
        expected = Concat(expected, *appended);
      }
    }
    if (ends_with_assistant) {
      auto tail = builder->Finish();
      ASSERT_TRUE(tail.ok()) << tail.status();
      expected = Concat(expected, *tail);
    }
    EXPECT_EQ(builder->ids(), expected);  // the returned pieces add up to the sequence
    Ids golden_ids = golden.ids;
    if (!ends_with_assistant && !golden.add_generation_prompt) {
      golden_ids = Concat(golden_ids, tokenizer->Encode(format.GenerationPrompt(options), false));
    }
    EXPECT_EQ(builder->ids(), golden_ids);
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

INSTANTIATE_TEST_SUITE_P(RealFiles, EpisodeGoldenTest, ::testing::Values("gemma3", "qwen3"));

// The technical-support conversation of the goldens, in Gemma 3 ids.
TEST(Episode, AssistantMaskMarksExactlyTheSampledIds) {
  const Tokenizer* tokenizer = RealTokenizer("gemma3");
  ASSERT_NE(tokenizer, nullptr);
  const ChatFormat format = RealFormat("gemma3");
  auto builder = EpisodeBuilder::Create(*tokenizer, format);
  ASSERT_TRUE(builder.ok()) << builder.status();
  const Ids first = {37001, 531, 6899, 600, 236761, 15311, 7993, 3567, 659, 611, 580, 236881, 106};
  const Ids second = {12879, 236761, 7323, 1845, 506, 4610, 25427, 215398, 236761, 106};
  ASSERT_EQ(
      builder->Start("You are a technical support specialist.", "My laptop shows error 0x80070005.")
          ->size(),
      33u);
  ASSERT_TRUE(builder->AppendAssistant(first).ok());
  ASSERT_TRUE(builder->AppendUser("Windows 11, build 22631.").ok());
  ASSERT_TRUE(builder->AppendAssistant(second).ok());
  ASSERT_EQ(builder->AppendUser("It worked, thank you!")->size(), 15u);
  ASSERT_EQ(builder->ids().size(), 93u);
  std::vector<std::uint8_t> mask(93, 0);
  std::fill(mask.begin() + 33, mask.begin() + 46, 1);
  std::fill(mask.begin() + 68, mask.begin() + 78, 1);
  EXPECT_EQ(builder->assistant_mask(), mask);
  EXPECT_EQ(builder->assistant_turns(), 2);
  EXPECT_TRUE(builder->awaiting_assistant());
}

TEST(Episode, ATurnCutByLengthIsClosed) {
  const Tokenizer* tokenizer = RealTokenizer("gemma3");
  ASSERT_NE(tokenizer, nullptr);
  const ChatFormat format = RealFormat("gemma3");
  auto builder = EpisodeBuilder::Create(*tokenizer, format);
  ASSERT_TRUE(builder.ok()) << builder.status();
  ASSERT_TRUE(builder->Start("", "Hello!").ok());
  const std::size_t prompt = builder->ids().size();
  EXPECT_THAT(*builder->AppendAssistant({37001, 531}), ElementsAre(106));  // "Sorry to", cut
  EXPECT_THAT(
      *builder->AppendUser("Windows 11, build 22631."),
      ElementsAre(107, 105, 2364, 107, 5189, 236743, 236770, 236770, 236764, 2016, 236743, 236778,
                  236778, 236825, 236800, 236770, 236761, 106, 107, 105, 4368, 107));
  const auto& mask = builder->assistant_mask();
  EXPECT_THAT(std::vector<std::uint8_t>(mask.begin() + prompt, mask.begin() + prompt + 4),
              ElementsAre(1, 1, 0, 0));  // the closing <end_of_turn> was not sampled

  // <eos> (1) ends a turn too where generation_config.json lists it.
  const ChatFormat with_eos(ChatFamily::kGemma, format.traits(), {1, 106});
  auto other = EpisodeBuilder::Create(*tokenizer, with_eos);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other->Start("", "Hello!").ok());
  EXPECT_TRUE(other->AppendAssistant({37001, 1})->empty());
  EXPECT_THAT(*other->Finish(), ElementsAre(107));
}

TEST(Episode, Qwen3KeepsTheThinkBlockItsTemplateDropsFromPastTurns) {
  const Tokenizer* tokenizer = RealTokenizer("qwen3");
  ASSERT_NE(tokenizer, nullptr);
  const ChatFormat format = RealFormat("qwen3");
  auto builder = EpisodeBuilder::Create(*tokenizer, format);
  ASSERT_TRUE(builder.ok());
  const Ids prompt = *builder->Start("Be brief.", "Price of the Pro plan?");
  const Ids think = tokenizer->Encode("<think>\nCheck the price list.\n</think>\n\n", false);
  const Ids answer = tokenizer->Encode("$19.99 per month.", false);
  ASSERT_TRUE(builder->AppendAssistant(Concat(Concat(think, answer), {151645})).ok());
  const Ids user = *builder->AppendUser("Thanks");
  EXPECT_EQ(user, tokenizer->Encode("\n<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n",
                                    false));
  EXPECT_EQ(builder->ids(), Concat(Concat(Concat(Concat(prompt, think), answer), {151645}), user));
  // Re-rendering the conversation from text would train on a sequence the model never saw.
  ChatOptions options;
  options.add_generation_prompt = true;
  auto rerendered = format.RenderIds(
      *tokenizer,
      {{"system", "Be brief.", {}},
       {"user", "Price of the Pro plan?", {}},
       {"assistant", "<think>\nCheck the price list.\n</think>\n\n$19.99 per month.", {}},
       {"user", "Thanks", {}}},
      options);
  ASSERT_TRUE(rerendered.ok());
  EXPECT_EQ(*rerendered, Concat(Concat(Concat(prompt, answer), {151645}), user));
}

const std::vector<std::string> kLlamaSpecials = {"<|begin_of_text|>", "<|start_header_id|>",
                                                 "<|end_header_id|>", "<|eot_id|>"};

TEST(Episode, Llama3HasNothingAfterTheEndOfTurn) {
  const FakeTokenizer tokenizer(kLlamaSpecials);
  const ChatFormat format = ChatFormat::ForFamily(ChatFamily::kLlama3);
  auto builder = EpisodeBuilder::Create(tokenizer, format);
  ASSERT_TRUE(builder.ok()) << builder.status();
  ASSERT_TRUE(builder->Start("S", "Hi").ok());
  const std::int32_t o = FakeTokenizer::kByteBase + 'O';
  const std::int32_t k = FakeTokenizer::kByteBase + 'K';
  EXPECT_THAT(*builder->AppendAssistant({o, k}), ElementsAre(3));
  EXPECT_EQ(*builder->AppendUser(" Next "),
            tokenizer.Encode("<|start_header_id|>user<|end_header_id|>\n\nNext<|eot_id|>"
                             "<|start_header_id|>assistant<|end_header_id|>\n\n",
                             false));
  ASSERT_TRUE(builder->AppendAssistant({o, 3}).ok());
  EXPECT_TRUE(builder->Finish()->empty());
  EXPECT_EQ(tokenizer.Decode(builder->ids(), false),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nOK<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nNext<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nO<|eot_id|>");
}

TEST(Episode, Misuse) {
  const FakeTokenizer tokenizer(kLlamaSpecials);
  const ChatFormat format = ChatFormat::ForFamily(ChatFamily::kLlama3);
  auto builder = EpisodeBuilder::Create(tokenizer, format);
  ASSERT_TRUE(builder.ok());
  auto status = builder->AppendUser("x").status();
  EXPECT_EQ(status.code(), common::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "episode: cannot append a turn before Start()");
  EXPECT_THAT(builder->Start({{"user", "a", {}}, {"assistant", "b", {}}}).status().message(),
              HasSubstr("ends with a 'assistant' turn"));
  ASSERT_TRUE(builder->Start("", "Hi").ok());
  const std::size_t size = builder->ids().size();
  EXPECT_EQ(builder->Start("", "Hi").status().message(),
            "episode: cannot start while awaiting the assistant's turn");
  EXPECT_EQ(builder->AppendAssistant({3, 1050}).status().message(),
            "episode: sampled ids continue after end-of-turn id 3 at position 0");
  EXPECT_EQ(builder->AppendAssistant({1050, 5000}).status().message(),
            "episode: sampled id 5000 at position 1 is outside [0, 1256)");
  EXPECT_EQ(builder->Finish().status().message(),
            "episode: cannot finish while awaiting the assistant's turn");
  EXPECT_EQ(builder->ids().size(), size);          // failed calls append nothing
  ASSERT_TRUE(builder->AppendAssistant({}).ok());  // an empty turn is closed like a cut one
  EXPECT_EQ(builder->ids().size(), size + 1);
  EXPECT_THAT(builder->AppendTurn({"bot", "x", {}}).status().message(),
              HasSubstr("a 'bot' turn cannot follow an assistant turn"));
  ASSERT_TRUE(builder->Finish().ok());
  EXPECT_EQ(builder->Finish().status().message(), "episode: cannot finish after Finish()");
  EXPECT_EQ(builder->ids().size(), builder->assistant_mask().size());
}

}  // namespace
}  // namespace gspo::tokenizer
