// Malformed tokenizer.json files: each problem is kInvalidArgument with a message that names the
// file and the component.
#include <gtest/gtest.h>

#include <string>

#include "common/files.h"
#include "common/json.h"
#include "tests/fakes/temp_dir.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer::testing {
namespace {

common::Status LoadError(const std::string& json) {
  auto tokenizer = Tokenizer::FromJson(json, "t.json");
  return tokenizer.ok() ? common::Status() : tokenizer.status();
}

common::Status LoadError(const Spec& spec) { return LoadError(ToJson(spec)); }

Spec Valid() { return {{"a", "b", "ab"}, {"a b"}}; }

void ExpectError(const common::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), common::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(), message);
}

TEST(TokenizerErrorsTest, MalformedJsonGivesTheParserMessage) {
  const std::string json = "{\"model\": {\"type\": \"BPE\",}\n}";
  const auto parsed = common::ParseJson(json, "t.json");
  ASSERT_FALSE(parsed.ok());
  ExpectError(LoadError(json), parsed.status().message());
  EXPECT_EQ(parsed.status().message().rfind("t.json:1:", 0), 0u) << parsed.status();
}

TEST(TokenizerErrorsTest, MissingOrUnsupportedModel) {
  ExpectError(LoadError("{\"version\": \"1.0\"}"), "t.json: missing \"model\"");
  ExpectError(LoadError("[]"), "t.json: expected a JSON object");
  ExpectError(LoadError(R"({"model": {"type": "WordPiece", "vocab": {}}})"),
              "t.json: model: type 'WordPiece' is not supported (only BPE)");
  ExpectError(LoadError(R"({"model": {"type": "Unigram", "vocab": []}})"),
              "t.json: model: type 'Unigram' is not supported (only BPE)");
  ExpectError(LoadError(R"({"model": {"type": "Magic"}})"), "t.json: model: unknown type 'Magic'");
  ExpectError(LoadError(R"({"model": {"type": "BPE", "merges": []}})"),
              "t.json: model: missing \"vocab\" object");
  ExpectError(LoadError(R"({"version": "2.0", "model": {}})"),
              "t.json: version: unknown tokenizer.json version '2.0'; expected '1.0'");
}

TEST(TokenizerErrorsTest, UnknownComponentTypes) {
  Spec spec = Valid();
  spec.normalizer = R"({"type": "Foo"})";
  ExpectError(LoadError(spec), "t.json: normalizer: unknown type 'Foo'");
  spec = Valid();
  spec.normalizer =
      R"({"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Precompiled"}]})";
  ExpectError(LoadError(spec),
              "t.json: normalizer.normalizers[1]: type 'Precompiled' is not supported");
  spec = Valid();
  spec.pre_tokenizer =
      R"({"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "Bar"}]})";
  ExpectError(LoadError(spec), "t.json: pre_tokenizer.pretokenizers[1]: unknown type 'Bar'");
  spec = Valid();
  spec.pre_tokenizer = R"({"pattern": {"String": " "}})";
  ExpectError(LoadError(spec), "t.json: pre_tokenizer: missing \"type\"");
  spec = Valid();
  spec.decoder = R"({"type": "Baz"})";
  ExpectError(LoadError(spec), "t.json: decoder: unknown type 'Baz'");
  spec = Valid();
  spec.post_processor = R"({"type": "Qux"})";
  ExpectError(LoadError(spec), "t.json: post_processor: unknown type 'Qux'");
  spec = Valid();
  spec.pre_tokenizer = R"({"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"})";
  ExpectError(LoadError(spec), "t.json: pre_tokenizer.behavior: unknown behavior 'Sideways'");
}

TEST(TokenizerErrorsTest, BadRegexNamesThePcreErrorAndOffset) {
  Spec spec = Valid();
  spec.pre_tokenizer = R"({"type": "Split", "pattern": {"Regex": "ab(c"}, "behavior": "Isolated",
                          "invert": false})";
  ExpectError(LoadError(spec),
              "t.json: pre_tokenizer.pattern: bad regex 'ab(c': missing closing parenthesis at "
              "offset 4");
  spec = Valid();
  spec.normalizer = R"({"type": "Replace", "pattern": {"Regex": "\\s[z-a]"}, "content": ""})";
  ExpectError(LoadError(spec),
              "t.json: normalizer.pattern: bad regex '\\s[z-a]': range out of order in character "
              "class at offset 5");
}

TEST(TokenizerErrorsTest, MergesOutsideTheVocabulary) {
  ExpectError(LoadError(Spec{{"a", "b", "ab"}, {"a b", "a x"}}),
              "t.json: model.merges[1]: 'x' is not in the vocabulary");
  ExpectError(LoadError(Spec{{"a", "b"}, {"a b"}}),
              "t.json: model.merges[0]: the merged token 'ab' is not in the vocabulary");
  ExpectError(LoadError(Spec{{"a", "b", "ab"}, {"a b c"}}),
              "t.json: model.merges[0]: expected \"a b\" or [\"a\", \"b\"]");
}

TEST(TokenizerErrorsTest, ModelFields) {
  Spec spec = Valid();
  spec.model_extra = "\"unk_token\": \"<unk>\"";
  ExpectError(LoadError(spec), "t.json: model.unk_token: '<unk>' is not in the vocabulary");
  std::string json = ToJson(Valid());
  json.replace(json.find("\"dropout\": null"), 15, "\"dropout\": 0.1");
  ExpectError(LoadError(json),
              "t.json: model.dropout: BPE dropout is not supported; it must be null");
  json = ToJson(Valid());
  json.replace(json.find("\"ab\": 2"), 7, "\"ab\": 1");
  ExpectError(LoadError(json), "t.json: model.vocab: id 1 is given to both 'b' and 'ab'");
}

TEST(TokenizerErrorsTest, AddedTokenIdCollisions) {
  Spec spec = Valid();  // a=0 b=1 ab=2
  spec.added_tokens = "[" + Added(3, "<x>") + ", " + Added(3, "<y>") + "]";
  ExpectError(LoadError(spec), "t.json: added_tokens[1]: id 3 of '<y>' is already taken by '<x>'");
  spec.added_tokens = "[" + Added(1, "<x>") + "]";
  ExpectError(LoadError(spec), "t.json: added_tokens[0]: id 1 of '<x>' is already taken by 'b'");
  spec.added_tokens = "[" + Added(5, "ab") + "]";
  ExpectError(LoadError(spec), "t.json: added_tokens[0]: 'ab' has id 5 but is already token 2");
  spec.added_tokens = "[" + Added(7, "<x>") + "]";
  ExpectError(LoadError(spec),
              "t.json: added_tokens[0]: '<x>' has id 7, but new added tokens are numbered in "
              "order after the vocabulary: expected 3");
  spec.added_tokens = R"([{"content": "<x>"}])";
  ExpectError(LoadError(spec), "t.json: added_tokens[0]: missing or bad \"id\"");
}

TEST(TokenizerErrorsTest, FilesAndDirectories) {
  gspo::testing::ScopedTempDir dir;
  const auto missing = Tokenizer::FromFile(dir.Join("nope.json"));
  EXPECT_EQ(missing.status().code(), common::StatusCode::kNotFound) << missing.status();
  const auto empty = Tokenizer::FromDirectory(dir.path());
  EXPECT_EQ(empty.status().code(), common::StatusCode::kNotFound);
  EXPECT_EQ(empty.status().message(),
            dir.path() + ": has neither tokenizer.json nor tokenizer.model");
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("tokenizer.json"), "{\"model\": 3}").ok());
  const auto bad = Tokenizer::FromDirectory(dir.path());
  ExpectError(bad.status(), dir.Join("tokenizer.json") + ": model: expected an object");
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("tokenizer.json"), ToJson(Valid())).ok());
  const auto good = Tokenizer::FromDirectory(dir.path());
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)->Encode("abab", false), (std::vector<std::int32_t>{2, 2}));
}

}  // namespace
}  // namespace gspo::tokenizer::testing
