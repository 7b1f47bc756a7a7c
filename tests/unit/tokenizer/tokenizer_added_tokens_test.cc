// Added tokens: matched before the model, leftmost-longest, with lstrip / rstrip / single_word /
// normalized, and skipped on decode only when special.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/tokenizer/tokenizer_test_util.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer::testing {
namespace {

// Vocabulary a=0 b=1 " "=2 c=3; no merges and no pre-tokenizer, so text between added tokens
// comes out one character per token (characters outside the vocabulary are dropped).
Spec Base() { return {{"a", "b", " ", "c"}, {}}; }

TEST(AddedTokensTest, LstripAndRstripAbsorbWhitespace) {
  Spec spec = Base();
  spec.added_tokens = "[" + Added(4, "<mask>", true, /*lstrip=*/true) + ", " +
                      Added(5, "<r>", true, false, /*rstrip=*/true) + "]";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  // "a <mask>": <mask> takes the space before it.
  EXPECT_EQ(tokenizer->Encode("a <mask>", false), (Ids{0, 4}));
  EXPECT_EQ(tokenizer->Encode("a  <mask> b", false), (Ids{0, 4, 2, 1}));
  // "<r>  b": <r> takes the spaces after it.
  EXPECT_EQ(tokenizer->Encode("<r>  b", false), (Ids{5, 1}));
  EXPECT_EQ(tokenizer->Encode("a <r> b", false), (Ids{0, 2, 5, 1}));
  // Both around one run of spaces: the rstrip token keeps what it took.
  EXPECT_EQ(tokenizer->Encode("<r>  <mask>", false), (Ids{5, 4}));
}

TEST(AddedTokensTest, SingleWordOnlyMatchesWholeWords) {
  Spec spec = Base();
  spec.added_tokens = "[" + Added(4, "ab", false, false, false, /*single_word=*/true) + "]";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  // "ab cab ab": the "ab" inside "cab" follows a word character, so it is plain text.
  EXPECT_EQ(tokenizer->Encode("ab cab ab", false), (Ids{4, 2, 3, 0, 1, 2, 4}));
  EXPECT_EQ(tokenizer->Encode("abc", false), (Ids{0, 1, 3}));
}

TEST(AddedTokensTest, LeftmostLongestMatch) {
  Spec spec = Base();
  spec.added_tokens = "[" + Added(4, "<a>", true) + ", " + Added(5, "<a><b>", true) + ", " +
                      Added(6, "b<a>", true) + "]";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("<a><b>", false), (Ids{5}));
  EXPECT_EQ(tokenizer->Encode("<a><b", false), (Ids{4, 1}));  // "<" is not in the vocabulary
  // "b<a><b>": the leftmost match "b<a>" wins over the longer "<a><b>" that starts later.
  EXPECT_EQ(tokenizer->Encode("b<a><b>", false), (Ids{6, 1}));
}

TEST(AddedTokensTest, NormalizedTokensMatchNormalizedText) {
  // Lowercase normalizer: "hello" (normalized=true) matches "HELLO"; "HEY" (normalized=false)
  // only matches the raw text.
  Spec spec{{"h", "e", "y", " ", "l", "o"}, {}};
  spec.normalizer = R"({"type": "Lowercase"})";
  spec.added_tokens = "[" + Added(6, "hello", false, false, false, false, /*normalized=*/true) +
                      ", " + Added(7, "HEY") + ", " +
                      Added(8, "Yo", false, false, false, false, /*normalized=*/true) + "]";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("HELLO HEY hey", false), (Ids{6, 3, 7, 3, 0, 1, 2}));
  EXPECT_EQ(tokenizer->Encode("yo", false), (Ids{8}));
  // Decode and IdToToken show a normalized token in its normalized form, as Hugging Face does.
  EXPECT_EQ(tokenizer->Decode({8, 7}, false), "yo HEY");
  EXPECT_EQ(tokenizer->IdToToken(8), "yo");
  EXPECT_EQ(tokenizer->TokenToId("Yo"), 8);
}

TEST(AddedTokensTest, SkipSpecialSkipsOnlySpecialTokens) {
  Spec spec = Base();
  spec.added_tokens = "[" + Added(4, "<s>", /*special=*/true) + ", " + Added(5, "<t>") + "]";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("a<s>b<t>", false), (Ids{0, 4, 1, 5}));
  EXPECT_EQ(tokenizer->Decode({0, 4, 1, 5}, false), "a <s> b <t>");
  EXPECT_EQ(tokenizer->Decode({0, 4, 1, 5}, true), "a b <t>");
  EXPECT_TRUE(tokenizer->IsSpecial(4));
  EXPECT_FALSE(tokenizer->IsSpecial(5));
  EXPECT_FALSE(tokenizer->IsSpecial(0));
  EXPECT_EQ(tokenizer->vocab_size(), 6);
}

TEST(AddedTokensTest, ContentInTheVocabularyKeepsItsId) {
  // An added token that the model already knows keeps the model's id; new ones follow the
  // vocabulary in order.
  Spec spec = Base();
  spec.added_tokens = "[" + Added(3, "c", true) + ", " + Added(4, "<n>", true) + "]";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("acb<n>", false), (Ids{0, 3, 1, 4}));
  EXPECT_EQ(tokenizer->Decode({0, 3, 1}, true), "a b");  // "c" is special now
}

}  // namespace
}  // namespace gspo::tokenizer::testing
