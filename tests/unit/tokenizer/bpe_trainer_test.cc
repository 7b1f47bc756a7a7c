// The byte-level BPE trainer on a corpus small enough to count by hand, and the tokenizer.json
// it writes read back by the project's loader.
#include "worker/tokenizer/bpe_trainer.h"

#include <gtest/gtest.h>

#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer {
namespace {

using Pair = std::pair<std::string, std::string>;

// "aaab aab" pre-tokenizes to the words "aaab" and "Ġaab" (Ġ is the byte-level space).
// Pair counts: (a,a) 2 + 1 = 3, (a,b) 1 + 1 = 2, (Ġ,a) 1: the first merge is (a,a).
// Then the words are [aa, a, b] and [Ġ, aa, b]: every pair occurs once, and the tie goes to
// the pair whose strings sort first, ("a", "b") (ASCII sorts before the two-byte "Ġ").
TEST(BpeTrainerTest, MergesTheMostFrequentPairFirstAndBreaksTiesByString) {
  BpeTrainerOptions options;
  options.vocab_size = 256 + 1 + 2;
  options.min_frequency = 1;
  options.special_tokens = {"<|im_end|>"};
  auto vocab = TrainByteLevelBpe({"aaab aab"}, options);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->merges, (std::vector<Pair>{{"a", "a"}, {"a", "b"}}));
  ASSERT_EQ(vocab->tokens.size(), 259u);
  EXPECT_EQ(vocab->tokens[97], "a");         // bytes keep their value as id
  EXPECT_EQ(vocab->tokens[32], "\xC4\xA0");  // the byte-level space, Ġ
  EXPECT_EQ(vocab->tokens[256], "<|im_end|>");
  EXPECT_EQ(vocab->tokens[257], "aa");
  EXPECT_EQ(vocab->tokens[258], "ab");
}

TEST(BpeTrainerTest, StopsWhenNoPairIsFrequentEnough) {
  BpeTrainerOptions options;
  options.vocab_size = 1000;
  options.min_frequency = 2;
  auto vocab = TrainByteLevelBpe({"aaab aab"}, options);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  // After (a,a) every pair occurs once.
  EXPECT_EQ(vocab->merges, (std::vector<Pair>{{"a", "a"}}));
  EXPECT_EQ(vocab->tokens.size(), 257u);
}

TEST(BpeTrainerTest, WrittenFileEncodesWithTheLearnedMerges) {
  BpeTrainerOptions options;
  options.vocab_size = 256 + 3 + 2;
  options.min_frequency = 1;
  options.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  auto vocab = TrainByteLevelBpe({"aaab aab"}, options);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  auto tokenizer = Tokenizer::FromJson(ByteLevelBpeJson(*vocab), "trained.json");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  // a a a b: (a,a) has rank 0 and merges leftmost: aa a b; then (a,b), rank 1: aa ab.
  EXPECT_EQ((*tokenizer)->Encode("aaab", false), (std::vector<std::int32_t>{259, 260}));
  // " b" is Ġ b, no merge: the byte ids 32 and 98. Special tokens are never split.
  EXPECT_EQ((*tokenizer)->Encode(" b<|im_end|>", false), (std::vector<std::int32_t>{32, 98, 258}));
  EXPECT_EQ((*tokenizer)->Decode({259, 260, 32, 98}, false), "aaab b");
}

TEST(BpeTrainerTest, RejectsAVocabularyTooSmallForTheBytes) {
  BpeTrainerOptions options;
  options.vocab_size = 256;
  options.special_tokens = {"<s>"};
  auto vocab = TrainByteLevelBpe({"x"}, options);
  ASSERT_FALSE(vocab.ok());
  EXPECT_EQ(vocab.status().message(),
            "vocab_size: expected at least 257 (256 bytes + special tokens), got 256");
}

}  // namespace
}  // namespace gspo::tokenizer
