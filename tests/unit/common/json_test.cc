#include "common/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace gspo::common {
namespace {

Json MustParse(std::string_view text) {
  StatusOr<Json> json = ParseJson(text, "test.json");
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? std::move(json).value() : Json();
}

// The error message of parsing `text` as "x.json", or "OK".
std::string ParseError(std::string_view text, const JsonLimits& limits = {}) {
  StatusOr<Json> json = ParseJson(text, "x.json", limits);
  if (json.ok()) return "OK";
  EXPECT_EQ(json.status().code(), StatusCode::kInvalidArgument);
  return json.status().message();
}

TEST(Json, ParsesScalars) {
  EXPECT_TRUE(MustParse("null").is_null());
  EXPECT_TRUE(MustParse(" true ").AsBool());
  EXPECT_TRUE(MustParse("false").is_bool());
  EXPECT_FALSE(MustParse("false").AsBool());
  EXPECT_EQ(MustParse("\"hi\"").AsString(), "hi");
  EXPECT_EQ(MustParse("-12").AsInt64(), -12);
  EXPECT_DOUBLE_EQ(MustParse("3.5").AsDouble(), 3.5);
  EXPECT_EQ(MustParse("3.5").AsInt64(), std::nullopt);
  EXPECT_DOUBLE_EQ(MustParse("-2.5E-3").AsDouble(), -0.0025);
  EXPECT_EQ(MustParse("1e3").AsInt64(), 1000);  // integral value written with an exponent
  EXPECT_EQ(MustParse("2.0").AsInt64(), 2);
  EXPECT_EQ(MustParse("1e300").AsInt64(), std::nullopt);
  EXPECT_EQ(MustParse("1e-400").AsDouble(), 0.0);  // underflow is not an error
  EXPECT_EQ(MustParse("0").AsInt64(), 0);
  EXPECT_TRUE(MustParse("0").is_number());
  // Accessors of the wrong type are neutral.
  EXPECT_EQ(MustParse("\"7\"").AsInt64(), std::nullopt);
  EXPECT_EQ(MustParse("7").AsString(), "");
  EXPECT_EQ(MustParse("7").size(), 0u);
}

TEST(Json, KeepsSixtyFourBitIntegersExact) {
  // 2^53 + 1 has no double; offsets in big safetensors files need every digit.
  const Json big = MustParse("9007199254740993");
  EXPECT_EQ(big.AsInt64(), std::int64_t{9007199254740993});
  EXPECT_EQ(big.AsDouble(), 9007199254740992.0);
  EXPECT_EQ(MustParse("9223372036854775807").AsInt64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(MustParse("-9223372036854775808").AsInt64(), std::numeric_limits<std::int64_t>::min());
  // One past the int64 range is still a number, just not an int64.
  const Json past = MustParse("9223372036854775808");
  EXPECT_TRUE(past.is_number());
  EXPECT_EQ(past.AsInt64(), std::nullopt);
  EXPECT_DOUBLE_EQ(past.AsDouble(), 9223372036854775808.0);
  EXPECT_EQ(Json::Integer(9007199254740993).AsInt64(), std::int64_t{9007199254740993});
}

TEST(Json, ParsesNestedValuesInDocumentOrder) {
  const Json json = MustParse(R"({"z": [1, {"b": null}, []], "a": {"d": "e"}, "m": {}})");
  ASSERT_TRUE(json.is_object());
  ASSERT_EQ(json.size(), 3u);
  EXPECT_EQ(json.members()[0].first, "z");
  EXPECT_EQ(json.members()[1].first, "a");
  EXPECT_EQ(json.members()[2].first, "m");
  const Json* z = json.Find("z");
  ASSERT_NE(z, nullptr);
  ASSERT_TRUE(z->is_array());
  ASSERT_EQ(z->size(), 3u);
  EXPECT_EQ(z->elements()[0].AsInt64(), 1);
  EXPECT_TRUE(z->elements()[1].Find("b")->is_null());
  EXPECT_TRUE(z->elements()[2].is_array());
  EXPECT_EQ(z->elements()[2].size(), 0u);
  EXPECT_EQ(json.Find("a")->Find("d")->AsString(), "e");
  EXPECT_TRUE(json.Find("m")->is_object());
  EXPECT_EQ(json.Find("missing"), nullptr);
  EXPECT_EQ(z->Find("0"), nullptr);  // not an object
}

TEST(Json, FindsMembersOfBigObjects) {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) {
    if (i > 0) text += ",";
    text += "\"key" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += "}";
  const Json json = MustParse(text);
  ASSERT_EQ(json.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    const Json* value = json.Find("key" + std::to_string(i));
    ASSERT_NE(value, nullptr) << i;
    EXPECT_EQ(value->AsInt64(), i);
  }
  EXPECT_EQ(json.Find("key1000"), nullptr);
  EXPECT_EQ(json.Find(""), nullptr);

  // A copy finds the same members (the index holds positions, not pointers).
  const Json copy = json;
  EXPECT_EQ(copy.Find("key999")->AsInt64(), 999);

  std::vector<Json::Member> members;
  for (int i = 0; i < 40; ++i) members.emplace_back("m" + std::to_string(i), Json::Integer(i));
  const Json built = Json::Object(std::move(members));
  EXPECT_EQ(built.Find("m39")->AsInt64(), 39);
  EXPECT_EQ(built.Find("m40"), nullptr);
}

TEST(Json, DecodesEscapes) {
  EXPECT_EQ(MustParse(R"("\"\\\/\b\f\n\r\t")").AsString(), "\"\\/\b\f\n\r\t");
  // U+0041, U+00E9, U+20AC: one, two and three UTF-8 bytes.
  EXPECT_EQ(MustParse(R"("\u0041\u00e9\u20AC")").AsString(), "A\xC3\xA9\xE2\x82\xAC");
  // A surrogate pair is one code point, U+1F600.
  EXPECT_EQ(MustParse(R"("\ud83d\ude00")").AsString(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(MustParse(R"("\u0000")").AsString(), std::string(1, '\0'));
  // UTF-8 in the input is kept as is.
  EXPECT_EQ(MustParse("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").AsString(),
            "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(Json, SkipsByteOrderMark) {
  EXPECT_EQ(MustParse("\xEF\xBB\xBF{\"a\": 1}").Find("a")->AsInt64(), 1);
  // Columns start after the mark: '[' 1, '1' 2, ',' 3, ']' 4.
  EXPECT_EQ(ParseError("\xEF\xBB\xBF[1,]"), "x.json:1:4: expected a JSON value, found ']'");
}

TEST(Json, ReportsStructuralErrorsWithLineAndColumn) {
  // Line 3 is `  "vocab": 12]`: two spaces, "vocab" in columns 3-9, ':' 10, ' ' 11, "12" 12-13,
  // so the stray ']' is column 14.
  EXPECT_EQ(ParseError("{\n  \"a\": 1,\n  \"vocab\": 12]\n}"),
            "x.json:3:14: expected ',' or '}' after an object member");
  EXPECT_EQ(ParseError(""), "x.json:1:1: empty input");
  EXPECT_EQ(ParseError(" \n\t "), "x.json:2:3: empty input");  // '\t' counts as one column
  EXPECT_EQ(ParseError("[1 2]"), "x.json:1:4: expected ',' or ']' after an array element");
  EXPECT_EQ(ParseError("[1,]"), "x.json:1:4: expected a JSON value, found ']'");
  EXPECT_EQ(ParseError("["), "x.json:1:2: expected a JSON value, found the end of the input");
  EXPECT_EQ(ParseError("{\"a\" 1}"), "x.json:1:6: expected ':' after an object key");
  EXPECT_EQ(ParseError("{,}"), "x.json:1:2: expected a string key in double quotes");
  EXPECT_EQ(ParseError("{\"a\":1,}"), "x.json:1:8: expected a string key in double quotes");
  EXPECT_EQ(ParseError("{'a':1}"), "x.json:1:2: expected a string key in double quotes");
  EXPECT_EQ(ParseError("{} x"), "x.json:1:4: trailing characters after the JSON value");
  EXPECT_EQ(ParseError("[1] [2]"), "x.json:1:5: trailing characters after the JSON value");
  EXPECT_EQ(ParseError("// comment\n1"), "x.json:1:1: expected a JSON value, found '/'");
  EXPECT_EQ(ParseError("tru"), "x.json:1:1: invalid literal, expected 'true'");
  EXPECT_EQ(ParseError("[nul]"), "x.json:1:2: invalid literal, expected 'null'");
  EXPECT_EQ(ParseError("[\x01]"), "x.json:1:2: expected a JSON value, found byte 0x01");
  // No source name: position only.
  EXPECT_EQ(ParseJson("[1,]", "").status().message(), "1:4: expected a JSON value, found ']'");
}

TEST(Json, ReportsStringErrors) {
  // '{' 1, '"' 2, 'a' 3, '"' 4, ':' 5, ' ' 6, '"' 7: the string that never ends opens at 7.
  EXPECT_EQ(ParseError("{\"a\": \"abc"), "x.json:1:7: unterminated string");
  EXPECT_EQ(ParseError("\"abc\\"), "x.json:1:1: unterminated string");
  // '[' 1, '"' 2, 'a' 3, '\' 4.
  EXPECT_EQ(ParseError(R"(["a\q"])"), "x.json:1:4: invalid escape '\\q'");
  EXPECT_EQ(ParseError(R"("\u12G4")"), "x.json:1:2: invalid \\u escape");
  EXPECT_EQ(ParseError(R"("\u12")"), "x.json:1:2: invalid \\u escape");
  EXPECT_EQ(ParseError(R"("\ud83d")"), "x.json:1:2: unpaired surrogate");
  EXPECT_EQ(ParseError(R"("x\ude00")"), "x.json:1:3: unpaired surrogate");
  EXPECT_EQ(ParseError(R"("\ud83d\u0041")"), "x.json:1:2: unpaired surrogate");
  // The second half's own escape is malformed: reported at its backslash, column 8.
  EXPECT_EQ(ParseError(R"("\ud83d\uZZZZ")"), "x.json:1:8: invalid \\u escape");
  EXPECT_EQ(ParseError("\"a\tb\""), "x.json:1:3: control character in string");
  EXPECT_EQ(ParseError("[\"a\nb\"]"), "x.json:1:4: control character in string");
  EXPECT_EQ(ParseError("\"ab\xC3(\""), "x.json:1:4: invalid UTF-8 in string");
  EXPECT_EQ(ParseError("\"\xC0\x80\""), "x.json:1:2: invalid UTF-8 in string");      // overlong
  EXPECT_EQ(ParseError("\"\xED\xA0\x80\""), "x.json:1:2: invalid UTF-8 in string");  // surrogate
  EXPECT_EQ(ParseError("\"\xF4\x90\x80\x80\""), "x.json:1:2: invalid UTF-8 in string");
  // Columns count characters: '"' 1, the two bytes of U+00E9 are column 2, 0xFF is column 3.
  EXPECT_EQ(ParseError("\"\xC3\xA9\xFF\""), "x.json:1:3: invalid UTF-8 in string");
}

TEST(Json, ReportsNumberErrors) {
  EXPECT_EQ(ParseError("01"), "x.json:1:1: invalid number: leading zero");
  EXPECT_EQ(ParseError("[-012]"), "x.json:1:3: invalid number: leading zero");
  EXPECT_EQ(ParseError("+1"), "x.json:1:1: expected a JSON value, found '+'");
  EXPECT_EQ(ParseError(".5"), "x.json:1:1: expected a JSON value, found '.'");
  EXPECT_EQ(ParseError("1."), "x.json:1:3: invalid number: expected a digit after '.'");
  EXPECT_EQ(ParseError("-"), "x.json:1:2: invalid number: expected a digit after '-'");
  EXPECT_EQ(ParseError("1e"), "x.json:1:3: invalid number: expected a digit in the exponent");
  EXPECT_EQ(ParseError("1e+"), "x.json:1:4: invalid number: expected a digit in the exponent");
  EXPECT_EQ(ParseError("NaN"), "x.json:1:1: expected a JSON value, found 'N'");
  EXPECT_EQ(ParseError("Infinity"), "x.json:1:1: expected a JSON value, found 'I'");
  EXPECT_EQ(ParseError("-Infinity"), "x.json:1:2: invalid number: expected a digit after '-'");
  EXPECT_EQ(ParseError("0x10"), "x.json:1:2: trailing characters after the JSON value");
  EXPECT_EQ(ParseError("[1e400]"), "x.json:1:2: number out of range");
  EXPECT_EQ(ParseError("-1e400"), "x.json:1:1: number out of range");
}

TEST(Json, RejectsDuplicateKeys) {
  // '{' 1, '"' 2, 'x' 3, '"' 4, ':' 5, ' ' 6, '1' 7, ',' 8, ' ' 9: the repeat starts at 10.
  EXPECT_EQ(ParseError("{\"x\": 1, \"x\": 2}"), "x.json:1:10: duplicate key 'x'");
  // An indexed object (more than 16 members): line 1 is '{', lines 2-21 hold k0..k19, and the
  // repeated "k3" opens line 22.
  std::string text = "{\n";
  for (int i = 0; i < 20; ++i) text += "\"k" + std::to_string(i) + "\": 0,\n";
  text += "\"k3\": 1\n}";
  EXPECT_EQ(ParseError(text), "x.json:22:1: duplicate key 'k3'");
  // The same key in different objects is fine.
  EXPECT_EQ(ParseError(R"({"a": {"x": 1}, "b": {"x": 2}})"), "OK");
}

TEST(Json, LimitsNestingWithoutRecursing) {
  // 100000 brackets: the 257th, at column 257, is one level too many.
  EXPECT_EQ(ParseError(std::string(100000, '[')), "x.json:1:257: nesting deeper than 256 levels");
  EXPECT_EQ(ParseError(std::string(100000, '{')),
            "x.json:1:2: expected a string key in double quotes");
  EXPECT_EQ(ParseError(std::string(256, '[') + std::string(256, ']')), "OK");
  EXPECT_EQ(ParseError("[[[1]]]", JsonLimits{2}), "x.json:1:3: nesting deeper than 2 levels");
  EXPECT_EQ(ParseError("{\"a\": {\"b\": {}}}", JsonLimits{2}),
            "x.json:1:13: nesting deeper than 2 levels");
  EXPECT_EQ(ParseError("[[1]]", JsonLimits{2}), "OK");
}

TEST(Json, WritesCompactJson) {
  const Json json = Json::Object({
      {"null", Json::Null()},
      {"flags", Json::Array({Json::Bool(true), Json::Bool(false)})},
      {"offset", Json::Integer(9007199254740993)},
      {"min", Json::Integer(std::numeric_limits<std::int64_t>::min())},
      {"ratio", Json::Number(0.1)},
      {"big", Json::Number(1e300)},
      {"whole", Json::Number(2.0)},
      {"neg_zero", Json::Number(-0.0)},
      {"nan", Json::Number(std::nan(""))},
      {"text", Json::String("a\"b")},
      {"empty", Json::Object({})},
  });
  EXPECT_EQ(WriteJson(json),
            R"({"null":null,"flags":[true,false],"offset":9007199254740993,)"
            R"("min":-9223372036854775808,"ratio":0.1,"big":1e+300,"whole":2,"neg_zero":-0,)"
            R"("nan":null,"text":"a\"b","empty":{}})");
}

TEST(Json, QuotesStrings) {
  EXPECT_EQ(QuoteJsonString(""), "\"\"");
  EXPECT_EQ(QuoteJsonString("a\"b\\c/"), R"("a\"b\\c/")");
  EXPECT_EQ(QuoteJsonString("\n\t\r\b\f"), R"("\n\t\r\b\f")");
  EXPECT_EQ(QuoteJsonString(std::string("\x01\x1f\x00", 3)), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(QuoteJsonString("caf\xC3\xA9 \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
}

TEST(Json, RoundTrips) {
  const std::vector<std::string> documents = {
      R"({"architectures":["Gemma2ForCausalLM"],"hidden_size":3584,"rms_norm_eps":1e-06,)"
      R"("rope_theta":10000,"torch_dtype":"bfloat16","final_logit_softcapping":30,)"
      R"("query_pre_attn_scalar":0.0625,"use_cache":true,"sliding_window":null})",
      R"([[],{},[[[]]],"\u0001\n",-0,-1.5,0.30000000000000004,1.7976931348623157e+308])",
      R"({"w":{"dtype":"BF16","shape":[256000,3584],"data_offsets":[0,18350080000]}})",
      "\"\xF0\x9F\x98\x80\"",
  };
  for (const std::string& text : documents) {
    const Json json = MustParse(text);
    EXPECT_EQ(WriteJson(json), text);
    EXPECT_EQ(WriteJson(MustParse(WriteJson(json))), text);
  }
  // Non-canonical input comes back canonical.
  EXPECT_EQ(WriteJson(MustParse(" { \"a\" : [ 1 , 2.50 , \"\\u0041\" ] } ")),
            R"({"a":[1,2.5,"A"]})");
}

// Large inputs (tokenizer.json is tens of MB) parse in one pass; the rate is logged, not checked.
TEST(Json, ParsesLargeInputs) {
  std::string text = R"({"model":{"vocab":{)";
  constexpr int kTokens = 200000;
  for (int i = 0; i < kTokens; ++i) {
    if (i > 0) text += ",";
    text += "\"\xC4\xA0tok" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += R"(},"merges":[)";
  for (int i = 0; i < kTokens; ++i) {
    if (i > 0) text += ",";
    text += "[\"t" + std::to_string(i) + "\",\"ok\"]";
  }
  text += "]}}";
  const auto start = std::chrono::steady_clock::now();
  const Json json = MustParse(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Json* vocab = json.Find("model")->Find("vocab");
  ASSERT_NE(vocab, nullptr);
  EXPECT_EQ(vocab->size(), static_cast<std::size_t>(kTokens));
  EXPECT_EQ(vocab->Find("\xC4\xA0tok123456")->AsInt64(), 123456);
  EXPECT_EQ(json.Find("model")->Find("merges")->elements()[7].elements()[0].AsString(), "t7");
  std::printf("parsed %.1f MB in %.3f s (%.0f MB/s)\n", text.size() / 1e6, seconds,
              text.size() / 1e6 / seconds);
}

}  // namespace
}  // namespace gspo::common
