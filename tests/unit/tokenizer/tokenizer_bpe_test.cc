// The BPE model on hand-written vocabularies: merge order, unknown characters, byte fallback,
// affixes, ignore_merges, long words; and the decoders that undo it.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/tokenizer/tokenizer_test_util.h"
#include "worker/tokenizer/tokenizer.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer::testing {
namespace {

// a=0 b=1 c=2 ab=3 bc=4 abc=5; merges by rank: (b,c)=0, (a,b)=1, (a,bc)=2.
Spec Abc() { return {{"a", "b", "c", "ab", "bc", "abc"}, {"b c", "a b", "a bc"}}; }

TEST(BpeTest, LowestRankMergesFirst) {
  auto tokenizer = Build(Abc());
  ASSERT_NE(tokenizer, nullptr);
  // "abc": (b,c) has rank 0 < (a,b) rank 1, so a|bc, then (a,bc) -> abc.
  EXPECT_EQ(tokenizer->Encode("abc", false), (Ids{5}));
  // "abab": both (a,b) pairs have rank 1; the leftmost merges first, then the other one.
  EXPECT_EQ(tokenizer->Encode("abab", false), (Ids{3, 3}));
  // "cab": c|ab. "bca": bc|a.
  EXPECT_EQ(tokenizer->Encode("cab", false), (Ids{2, 3}));
  EXPECT_EQ(tokenizer->Encode("bca", false), (Ids{4, 0}));
  EXPECT_EQ(tokenizer->Encode("", false), (Ids{}));
}

TEST(BpeTest, MergesAsPairs) {
  Spec spec = Abc();
  std::string json = ToJson(spec);
  const std::string legacy = "[\"b c\", \"a b\", \"a bc\"]";
  json.replace(json.find(legacy), legacy.size(), R"([["b", "c"], ["a", "b"], ["a", "bc"]])");
  auto tokenizer = Tokenizer::FromJson(json, "pairs.json");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->Encode("abcab", false), (Ids{5, 3}));
}

TEST(BpeTest, TiesGoLeftmost) {
  // a=0 aa=1; "aaa": (a,a) at 0 and 1 tie, the left one merges: aa|a.
  auto tokenizer = Build({{"a", "aa"}, {"a a"}});
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("aaa", false), (Ids{1, 0}));
  EXPECT_EQ(tokenizer->Encode("aaaa", false), (Ids{1, 1}));
}

TEST(BpeTest, LongWordsMergeLikeShortOnes) {
  // 90 symbols take the heap path and the cut between "c" and "a" (never adjacent in a
  // token); with "ca" in the vocabulary (but no merge for it) nothing can be cut.
  std::string text;
  for (int i = 0; i < 30; ++i) text += "abc";
  const Ids expected(30, 5);
  auto cut = Build(Abc());
  ASSERT_NE(cut, nullptr);
  EXPECT_EQ(cut->Encode(text, false), expected);
  Spec uncut_spec = Abc();
  uncut_spec.vocab.push_back("ca");
  auto uncut = Build(uncut_spec);
  ASSERT_NE(uncut, nullptr);
  EXPECT_EQ(uncut->Encode(text, false), expected);
  EXPECT_EQ(uncut->Encode(text + "ab", false).back(), 3);
  // 40 x "a" with only (a,a): pairs merge left to right, 20 x "aa".
  auto aa = Build({{"a", "aa"}, {"a a"}});
  ASSERT_NE(aa, nullptr);
  EXPECT_EQ(aa->Encode(std::string(40, 'a'), false), Ids(20, 1));
  EXPECT_EQ(aa->Encode(std::string(41, 'a'), false).size(), 21u);
}

TEST(BpeTest, UnknownCharacters) {
  Spec spec{{"<unk>", "a"}, {}, "\"unk_token\": \"<unk>\", \"fuse_unk\": false"};
  auto separate = Build(spec);
  ASSERT_NE(separate, nullptr);
  EXPECT_EQ(separate->Encode("xxa", false), (Ids{0, 0, 1}));
  spec.model_extra = "\"unk_token\": \"<unk>\", \"fuse_unk\": true";
  auto fused = Build(spec);
  ASSERT_NE(fused, nullptr);
  EXPECT_EQ(fused->Encode("xxa", false), (Ids{0, 1}));
  EXPECT_EQ(fused->Encode("xxaé", false), (Ids{0, 1, 0}));
  spec.model_extra = "";  // Without an unk token unknown characters are dropped.
  auto dropped = Build(spec);
  ASSERT_NE(dropped, nullptr);
  EXPECT_EQ(dropped->Encode("xxa", false), (Ids{1}));
}

TEST(BpeTest, ByteFallback) {
  // <unk>=0 <0xC3>=1 <0xA9>=2 a=3: "é" is C3 A9; "x" (0x78) has no byte token -> <unk>.
  Spec spec{
      {"<unk>", "<0xC3>", "<0xA9>", "a"}, {}, "\"unk_token\": \"<unk>\", \"byte_fallback\": true"};
  spec.decoder =
      R"({"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]})";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("aé", false), (Ids{3, 1, 2}));
  EXPECT_EQ(tokenizer->Encode("ax", false), (Ids{3, 0}));
  EXPECT_EQ(tokenizer->Decode({3, 1, 2}, false), "aé");
  // A run of byte tokens that is not UTF-8 gives one U+FFFD per byte token.
  EXPECT_EQ(tokenizer->Decode({1}, false), "\xEF\xBF\xBD");
  EXPECT_EQ(tokenizer->Decode({1, 1, 3}, false),
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            "a");
  EXPECT_EQ(tokenizer->Decode({3, 2, 1, 2}, false), "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(BpeTest, ContinuingSubwordPrefixAndEndOfWordSuffix) {
  // Inside a word characters are "##c", the last one "c</w>" (or "##c</w>"); a merge drops the
  // right side's prefix: (a, ##b) -> ab, (ab, ##c</w>) -> abc</w>.
  Spec spec{{"a", "##b", "##c</w>", "ab", "abc</w>", "c</w>"},
            {"a ##b", "ab ##c</w>"},
            "\"continuing_subword_prefix\": \"##\", \"end_of_word_suffix\": \"</w>\""};
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("abc", false), (Ids{4}));
  EXPECT_EQ(tokenizer->Encode("c", false), (Ids{5}));   // first and last: "c</w>"
  EXPECT_EQ(tokenizer->Encode("ab", false), (Ids{0}));  // "##b</w>" is unknown: dropped
}

TEST(BpeTest, IgnoreMergesTakesVocabularyWordsWhole) {
  // a b c ab bc abc with merges (b,c), (a,b) only: merging "abc" gives a|bc, but with
  // ignore_merges the word is a token itself (Llama 3).
  Spec spec{{"a", "b", "c", "ab", "bc", "abc"}, {"b c", "a b"}};
  auto merged = Build(spec);
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->Encode("abc", false), (Ids{0, 4}));
  spec.model_extra = "\"ignore_merges\": true";
  auto whole = Build(spec);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(whole->Encode("abc", false), (Ids{5}));
  EXPECT_EQ(whole->Encode("abca", false), (Ids{0, 4, 0}));  // not a token: merged as usual
}

TEST(BpeTest, DecodeWithoutDecoderJoinsWithSpaces) {
  auto tokenizer = Build(Abc());
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Decode({5, 3, 999}, false), "abc ab");  // unknown ids are skipped
}

TEST(DecoderTest, LlamaTwoChain) {
  // ▁Hello=0 ▁world=1 <0xE2>=2 <0x82>=3 <0xAC>=4 (E2 82 AC is "€").
  Spec spec{{"▁Hello", "▁world", "<0xE2>", "<0x82>", "<0xAC>"}, {}};
  spec.decoder = R"({"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Decode({0, 1, 2, 3, 4}, false), "Hello world€");
  EXPECT_EQ(tokenizer->Decode({1, 2, 3}, false), "world\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(DecoderTest, StripPerToken) {
  // Strip 'H' once at the start of each token: Hey -> ey, HHH -> HH.
  Spec spec{{"Hey", " friend!", "HHH", "yyy"}, {}};
  spec.decoder = R"({"type": "Strip", "content": "H", "start": 1, "stop": 0})";
  auto start = Build(spec);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->Decode({0, 1, 2}, false), "ey friend!HH");
  spec.decoder = R"({"type": "Strip", "content": "y", "start": 0, "stop": 2})";
  auto stop = Build(spec);
  ASSERT_NE(stop, nullptr);
  EXPECT_EQ(stop->Decode({0, 3}, false), "Hey");  // "He" + "y"
}

TEST(DecoderTest, ReplaceWithRegexAndBpeSuffix) {
  Spec spec{{"a__b", "c</w>", "d"}, {}};
  spec.decoder = R"({"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"Regex": "_+"}, "content": " "},
      {"type": "BPEDecoder", "suffix": "</w>"}]})";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Decode({0, 1, 2}, false), "a bc d");
  EXPECT_EQ(tokenizer->Decode({1}, false), "c");  // the last token's suffix becomes ""
}

TEST(DecoderTest, ByteLevelLossy) {
  // Byte-level characters: "ð"=F0 "Ł"=9F... a token outside the alphabet stands for itself.
  Spec spec{{ByteToUnicode(0xF0), ByteToUnicode(0x9F), ByteToUnicode(0x98), ByteToUnicode(0x80),
             "a", "€"},
            {}};
  spec.decoder = R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true})";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Decode({0, 1, 2, 3}, false), "😀");
  // F0 9F 98 is an incomplete sequence: one U+FFFD for the three bytes (from_utf8_lossy).
  EXPECT_EQ(tokenizer->Decode({0, 1, 2, 4}, false),
            "\xEF\xBF\xBD"
            "a");
  EXPECT_EQ(tokenizer->Decode({3, 5}, false), "\xEF\xBF\xBD€");
}

TEST(IncrementalDecoderTest, EmojiOverByteTokensComesOutWhole) {
  Spec spec{{"a", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"}, {}, "\"byte_fallback\": true"};
  spec.decoder =
      R"({"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]})";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  const Ids ids = tokenizer->Encode("a😀a", false);
  ASSERT_EQ(ids, (Ids{0, 1, 2, 3, 4, 0}));
  IncrementalDecoder decoder(*tokenizer, false);
  EXPECT_EQ(decoder.Push(ids[0]), "a");
  EXPECT_EQ(decoder.Push(ids[1]), "");
  EXPECT_EQ(decoder.Push(ids[2]), "");
  EXPECT_EQ(decoder.Push(ids[3]), "");
  EXPECT_EQ(decoder.Push(ids[4]), "😀");
  EXPECT_EQ(decoder.Push(ids[5]), "a");
  EXPECT_EQ(decoder.Flush(), "");
  // A stream that ends inside a character: Flush gives what Decode gives.
  IncrementalDecoder cut(*tokenizer, false);
  EXPECT_EQ(cut.Push(1) + cut.Push(2), "");
  EXPECT_EQ(cut.Flush(), tokenizer->Decode({1, 2}, false));
}

}  // namespace
}  // namespace gspo::tokenizer::testing
