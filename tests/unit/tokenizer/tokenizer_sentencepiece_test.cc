// FromDirectory falls back to a SentencePiece tokenizer.model: a tiny model trained here must
// give the processor's own ids, add BOS with special tokens, and decode back to the text.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <string>
#include <vector>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"
#include "worker/tokenizer/sentencepiece_loader.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer {
namespace {

constexpr const char* kCorpus[] = {
    "the quick brown fox jumps over the lazy dog",
    "customer service agents answer questions about orders and refunds",
    "technical support helps with error codes and software updates",
    "a tokenizer turns text into ids and ids back into text",
    "where is my order? it has not arrived yet.",
    "please reset the router and try again",
};

class SentencePieceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EnableSentencePiece();
    dir_ = new gspo::testing::ScopedTempDir();
    std::string corpus;
    for (int i = 0; i < 20; ++i) {
      for (const char* line : kCorpus) corpus.append(line).append("\n");
    }
    ASSERT_TRUE(common::WriteFileAtomically(dir_->Join("corpus.txt"), corpus).ok());
    const auto status = sentencepiece::SentencePieceTrainer::Train(
        "--input=" + dir_->Join("corpus.txt") + " --model_prefix=" + dir_->Join("tokenizer") +
        " --vocab_size=120 --model_type=bpe --hard_vocab_limit=false --minloglevel=2"
        " --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1");
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static gspo::testing::ScopedTempDir* dir_;
};

gspo::testing::ScopedTempDir* SentencePieceTest::dir_ = nullptr;

TEST_F(SentencePieceTest, MatchesTheProcessorAndRoundTrips) {
  ASSERT_TRUE(common::PathExists(dir_->Join("tokenizer.model")));
  auto tokenizer = Tokenizer::FromDirectory(dir_->path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  sentencepiece::SentencePieceProcessor processor;
  ASSERT_TRUE(processor.Load(dir_->Join("tokenizer.model")).ok());
  for (const std::string text : {"the lazy fox answers questions", "reset my order please",
                                 "unseen words: zebra quartz", ""}) {
    const std::vector<int> expected = processor.EncodeAsIds(text);
    const std::vector<std::int32_t> ids = (*tokenizer)->Encode(text, false);
    EXPECT_EQ(ids, std::vector<std::int32_t>(expected.begin(), expected.end())) << text;
    const std::vector<std::int32_t> with_bos = (*tokenizer)->Encode(text, true);
    ASSERT_FALSE(with_bos.empty());
    EXPECT_EQ(with_bos.front(), 1);
    EXPECT_EQ(std::vector<std::int32_t>(with_bos.begin() + 1, with_bos.end()), ids);
    if (text.find('z') == std::string::npos) {
      EXPECT_EQ((*tokenizer)->Decode(ids, false), text);
    }
    EXPECT_EQ((*tokenizer)->Decode(with_bos, true), (*tokenizer)->Decode(ids, false));
    EXPECT_EQ((*tokenizer)->Decode(with_bos, false), "<s>" + (*tokenizer)->Decode(ids, false));
  }
}

TEST_F(SentencePieceTest, VocabularyLookups) {
  auto tokenizer = Tokenizer::FromDirectory(dir_->path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->TokenToId("<s>"), 1);
  EXPECT_EQ((*tokenizer)->IdToToken(2), "</s>");
  EXPECT_TRUE((*tokenizer)->IsSpecial(1));
  EXPECT_FALSE((*tokenizer)->IsSpecial(0));  // <unk> is not a control symbol
  EXPECT_EQ((*tokenizer)->TokenToId("no such piece"), std::nullopt);
  EXPECT_GT((*tokenizer)->vocab_size(), 50);
}

TEST_F(SentencePieceTest, BadModelFile) {
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("tokenizer.model"), "not a model").ok());
  const auto tokenizer = Tokenizer::FromDirectory(dir.path());
  EXPECT_EQ(tokenizer.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokenizer.status().message().rfind(dir.Join("tokenizer.model") + ": ", 0), 0u)
      << tokenizer.status();
}

}  // namespace
}  // namespace gspo::tokenizer
