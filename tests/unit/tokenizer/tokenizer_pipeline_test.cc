// Normalizers, pre-tokenizers and post-processors on hand-written tokenizer.json files. The BPE
// models use ignore_merges, so every piece the pre-tokenizer produces that is in the vocabulary
// comes out as one token: the expected ids spell out the pieces.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/tokenizer/tokenizer_test_util.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer::testing {
namespace {

Spec Words(std::vector<std::string> vocab) {
  return {std::move(vocab), {}, "\"ignore_merges\": true"};
}

TEST(MetaspaceTest, ReplacesSpacesPrependsAndSplits) {
  // "Hey  friend" -> "▁Hey▁▁friend" -> ▁Hey | ▁ | ▁friend (each ▁ starts a piece).
  Spec spec = Words({"▁Hey", "▁", "▁friend", "Hey"});
  spec.pre_tokenizer = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                          "split": true})";
  spec.decoder = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                     "split": true})";
  spec.added_tokens = "[" + Added(4, "<x>", true) + "]";
  auto always = Build(spec);
  ASSERT_NE(always, nullptr);
  EXPECT_EQ(always->Encode("Hey  friend", false), (Ids{0, 1, 2}));
  EXPECT_EQ(always->Encode("<x>Hey", false), (Ids{4, 0}));  // every piece gets its ▁
  // The decoder drops the first token's ▁ and turns the others into spaces.
  EXPECT_EQ(always->Decode({0, 1, 2}, false), "Hey  friend");
  EXPECT_EQ(always->Decode({1, 0}, false), " Hey");

  spec.pre_tokenizer = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"})";
  auto first = Build(spec);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->Encode("Hey friend", false), (Ids{0, 2}));
  EXPECT_EQ(first->Encode("<x>Hey", false), (Ids{4, 3}));  // only the input's start gets ▁
  EXPECT_EQ(first->Encode("Hey<x>", false), (Ids{0, 4}));

  spec.pre_tokenizer = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"})";
  spec.decoder = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"})";
  auto never = Build(spec);
  ASSERT_NE(never, nullptr);
  EXPECT_EQ(never->Encode("Hey friend", false), (Ids{3, 2}));
  EXPECT_EQ(never->Decode({0, 2}, false), " Hey friend");

  spec.vocab.push_back("▁Hey▁friend");  // id 4; the added <x> moves to 5
  spec.added_tokens = "[" + Added(5, "<x>", true) + "]";
  spec.pre_tokenizer = R"({"type": "Metaspace", "replacement": "▁", "split": false})";
  auto unsplit = Build(spec);
  ASSERT_NE(unsplit, nullptr);
  EXPECT_EQ(unsplit->Encode("Hey friend", false), (Ids{4}));
}

TEST(ByteLevelTest, Gpt2RegexAndPrefixSpace) {
  // " Hello world!" -> Ġhello | Ġworld | ! ; "it's  ok" -> it | 's | Ġ | Ġok (the first space
  // stays alone: \s+(?!\S) backs off so that the last space goes with "ok").
  Spec spec = Words({"ĠHello", "Ġworld", "!", "Hello", "it", "'s", "Ġ", "Ġok"});
  spec.pre_tokenizer = R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                          "use_regex": true})";
  spec.decoder = R"({"type": "ByteLevel"})";
  auto prefixed = Build(spec);
  ASSERT_NE(prefixed, nullptr);
  EXPECT_EQ(prefixed->Encode("Hello world!", false), (Ids{0, 1, 2}));
  EXPECT_EQ(prefixed->Decode({0, 1, 2}, false), " Hello world!");

  spec.pre_tokenizer = R"({"type": "ByteLevel", "add_prefix_space": false})";
  auto plain = Build(spec);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->Encode("Hello world!", false), (Ids{3, 1, 2}));
  EXPECT_EQ(plain->Encode("it's  ok", false), (Ids{4, 5, 6, 7}));
}

// Hugging Face's example for the split behaviours: "the-final--countdown" split on "-".
TEST(SplitTest, Behaviors) {
  const Strings vocab = {"the",    "-",      "final",      "countdown", "the-",
                         "final-", "-final", "-countdown", "--"};
  const auto pieces = [&](const std::string& pre_tokenizer) {
    Spec spec = Words(vocab);
    spec.pre_tokenizer = pre_tokenizer;
    auto tokenizer = Build(spec);
    return tokenizer == nullptr ? Strings{} : Pieces(*tokenizer, "the-final--countdown");
  };
  const auto split = [](const std::string& behavior,
                        const std::string& pattern = R"({"String": "-"})", bool invert = false) {
    return R"({"type": "Split", "pattern": )" + pattern + R"(, "behavior": ")" + behavior +
           R"(", "invert": )" + (invert ? "true" : "false") + "}";
  };
  EXPECT_EQ(pieces(split("Removed")), (Strings{"the", "final", "countdown"}));
  EXPECT_EQ(pieces(split("Isolated")), (Strings{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces(split("MergedWithPrevious")), (Strings{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces(split("MergedWithNext")), (Strings{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces(split("Contiguous")), (Strings{"the", "-", "final", "--", "countdown"}));
  // invert: the words are the "delimiters".
  EXPECT_EQ(pieces(split("Removed", R"({"Regex": "-"})", true)), (Strings{"-", "-", "-"}));
  EXPECT_EQ(pieces(split("Removed", R"({"Regex": "[a-z]+"})", true)),
            (Strings{"the", "final", "countdown"}));
  EXPECT_EQ(pieces(split("MergedWithPrevious", R"({"Regex": "-"})", true)),
            (Strings{"the", "-final", "-", "-countdown"}));
}

TEST(SplitTest, WhitespaceClassIsUnicodeWhiteSpace) {
  // \s is White_Space as in Oniguruma: U+00A0 and U+3000 are spaces, U+200B and U+180E are not.
  Spec spec = Words({"a", "b\u200bc", "d\u180ee", "f"});
  spec.pre_tokenizer = R"({"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed",
                          "invert": false})";
  auto tokenizer = Build(spec);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("a\u00a0b\u200bc\u3000d\u180ee\u0085f", false), (Ids{0, 1, 2, 3}));
}

TEST(PreTokenizerTest, DigitsWhitespaceAndSequence) {
  Spec spec = Words({"ab", "123", "1", "2", "3", "cd", "x", "!"});
  spec.pre_tokenizer = R"({"type": "Digits", "individual_digits": false})";
  auto digits = Build(spec);
  ASSERT_NE(digits, nullptr);
  EXPECT_EQ(digits->Encode("ab123cd", false), (Ids{0, 1, 5}));
  spec.pre_tokenizer = R"({"type": "Sequence", "pretokenizers": [
      {"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": true}]})";
  auto sequence = Build(spec);
  ASSERT_NE(sequence, nullptr);
  EXPECT_EQ(sequence->Encode(" ab123\t cd ", false), (Ids{0, 2, 3, 4, 5}));
  spec.pre_tokenizer = R"({"type": "Punctuation"})";
  auto punctuation = Build(spec);
  ASSERT_NE(punctuation, nullptr);
  EXPECT_EQ(punctuation->Encode("x!x", false), (Ids{6, 7, 6}));
}

TEST(NormalizerTest, UnicodeForms) {
  // NFKC: "ﬁ" -> "fi", "①" -> "1"; NFC composes e + U+0301 into é; NFD decomposes it.
  Spec spec = Words({"fi1", "é", "e\u0301"});
  spec.normalizer = R"({"type": "NFKC"})";
  auto nfkc = Build(spec);
  ASSERT_NE(nfkc, nullptr);
  EXPECT_EQ(nfkc->Encode("ﬁ①", false), (Ids{0}));
  spec.normalizer = R"({"type": "NFC"})";
  auto nfc = Build(spec);
  ASSERT_NE(nfc, nullptr);
  EXPECT_EQ(nfc->Encode("e\u0301", false), (Ids{1}));
  spec.normalizer = R"({"type": "NFD"})";
  auto nfd = Build(spec);
  ASSERT_NE(nfd, nullptr);
  EXPECT_EQ(nfd->Encode("é", false), (Ids{2}));
}

TEST(NormalizerTest, LowercaseStripPrependReplace) {
  Spec spec = Words({"àb", "i\u0307", "▁a▁b", "a_b\u200bc"});
  spec.normalizer = R"({"type": "Lowercase"})";
  auto lowercase = Build(spec);
  ASSERT_NE(lowercase, nullptr);
  EXPECT_EQ(lowercase->Encode("ÀB", false), (Ids{0}));
  EXPECT_EQ(lowercase->Encode("İ", false), (Ids{1}));  // U+0130 lowercases to two characters
  // "  a b \n" -> strip -> "a b" -> prepend -> "▁a b" -> replace -> "▁a▁b".
  spec.normalizer = R"({"type": "Sequence", "normalizers": [
      {"type": "Strip", "strip_left": true, "strip_right": true},
      {"type": "Prepend", "prepend": "▁"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})";
  auto sequence = Build(spec);
  ASSERT_NE(sequence, nullptr);
  EXPECT_EQ(sequence->Encode("  a b \n", false), (Ids{2}));
  EXPECT_EQ(sequence->Encode(" \t ", false), (Ids{}));  // normalized away entirely
  spec.normalizer = R"({"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": "_"})";
  auto regex = Build(spec);
  ASSERT_NE(regex, nullptr);
  EXPECT_EQ(regex->Encode("a \t\u00a0b\u200bc", false), (Ids{3}));
}

TEST(PostProcessorTest, TemplateBertRoberta) {
  Spec spec = Words({"<s>", "</s>", "hi"});
  spec.post_processor = R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}],
      "pair": [],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                         "</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}})";
  auto pieces = Build(spec);
  ASSERT_NE(pieces, nullptr);
  EXPECT_EQ(pieces->Encode("hi", true), (Ids{0, 2, 1}));
  EXPECT_EQ(pieces->Encode("hi", false), (Ids{2}));
  EXPECT_EQ(pieces->Encode("", true), (Ids{0, 1}));
  spec.post_processor = R"({"type": "TemplateProcessing", "single": "<s>:0 $A:0",
      "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}})";
  auto text = Build(spec);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->Encode("hi", true), (Ids{0, 2}));
  spec.post_processor = R"({"type": "Sequence", "processors": [{"type": "ByteLevel"},
      {"type": "RobertaProcessing", "sep": ["</s>", 1], "cls": ["<s>", 0]}]})";
  auto roberta = Build(spec);
  ASSERT_NE(roberta, nullptr);
  EXPECT_EQ(roberta->Encode("hi", true), (Ids{0, 2, 1}));
}

}  // namespace
}  // namespace gspo::tokenizer::testing
