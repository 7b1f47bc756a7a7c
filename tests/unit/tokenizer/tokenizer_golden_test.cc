// Tokenizer against Hugging Face tokenizers 0.23 on the real Gemma 3 and Qwen 3 tokenizer.json
// files: every golden case of tests/data/tokenizers/{gemma3,qwen3}.json must give the same ids
// (with and without special tokens) and the same decoded text (with and without skipping special
// tokens); the IncrementalDecoder must stream the same text in valid UTF-8 chunks.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "tests/fakes/test_data.h"
#include "worker/tokenizer/tokenizer.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

struct GoldenCase {
  std::string text;
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> ids_special;
  std::string decoded;
  std::string decoded_skip;
};

std::vector<std::int32_t> IdsOf(const common::Json& json) {
  std::vector<std::int32_t> ids;
  for (const common::Json& id : json.elements())
    ids.push_back(static_cast<std::int32_t>(*id.AsInt64()));
  return ids;
}

std::vector<GoldenCase> LoadGoldens(const std::string& name) {
  const std::string path =
      std::string(GSPO_SOURCE_DIR) + "/tests/data/tokenizers/" + name + ".json";
  std::vector<GoldenCase> cases;
  auto text = common::ReadFileToString(path, 64 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return cases;
  auto json = common::ParseJson(*text, path);
  EXPECT_TRUE(json.ok()) << json.status();
  if (!json.ok() || json->Find("encode") == nullptr) return cases;
  for (const common::Json& item : json->Find("encode")->elements()) {
    cases.push_back({item.Find("text")->AsString(), IdsOf(*item.Find("ids")),
                     IdsOf(*item.Find("ids_special")), item.Find("decoded")->AsString(),
                     item.Find("decoded_skip")->AsString()});
  }
  return cases;
}

// The real tokenizers, loaded once per test binary. A missing file fails every test that needs
// it (never skips) and says how to fetch it.
const Tokenizer* RealTokenizer(const std::string& name) {
  static auto* loaded = new std::map<std::string, std::unique_ptr<Tokenizer>>();
  const std::string dir = testing::TestTokenizerDir(name);
  if (!common::PathExists(dir + "/tokenizer.json")) {
    ADD_FAILURE() << dir << "/tokenizer.json is missing: run scripts/fetch-test-tokenizers.sh";
    return nullptr;
  }
  auto it = loaded->find(name);
  if (it == loaded->end()) {
    const auto start = std::chrono::steady_clock::now();
    auto result = Tokenizer::FromDirectory(dir);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(result.ok()) << result.status();
    std::unique_ptr<Tokenizer> tokenizer;
    if (result.ok()) {
      tokenizer = *std::move(result);
      std::cout << "[ loaded   ] " << name << " in " << seconds << " s\n";
    }
    it = loaded->emplace(name, std::move(tokenizer)).first;
  }
  return it->second.get();
}

std::string Show(const std::vector<std::int32_t>& ids) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? ", " : "") << ids[i];
  out << "]";
  return out.str();
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, EncodeMatchesHuggingFace) {
  const Tokenizer* tokenizer = RealTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<GoldenCase> cases = LoadGoldens(GetParam());
  ASSERT_GE(cases.size(), 200u);
  int mismatches = 0;
  for (const GoldenCase& golden : cases) {
    const auto ids = tokenizer->Encode(golden.text, /*add_special_tokens=*/false);
    const auto ids_special = tokenizer->Encode(golden.text, /*add_special_tokens=*/true);
    if (ids != golden.ids || ids_special != golden.ids_special) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "text " << common::QuoteJsonString(golden.text)
                      << "\n  ours: " << Show(ids) << " / " << Show(ids_special)
                      << "\n  HF:   " << Show(golden.ids) << " / " << Show(golden.ids_special);
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << cases.size() << " cases";
}

TEST_P(GoldenTest, DecodeMatchesHuggingFace) {
  const Tokenizer* tokenizer = RealTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  int mismatches = 0;
  for (const GoldenCase& golden : LoadGoldens(GetParam())) {
    const std::string decoded = tokenizer->Decode(golden.ids_special, false);
    const std::string decoded_skip = tokenizer->Decode(golden.ids_special, true);
    if (decoded != golden.decoded || decoded_skip != golden.decoded_skip) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "ids " << Show(golden.ids_special)
                      << "\n  ours: " << common::QuoteJsonString(decoded) << " / "
                      << common::QuoteJsonString(decoded_skip)
                      << "\n  HF:   " << common::QuoteJsonString(golden.decoded) << " / "
                      << common::QuoteJsonString(golden.decoded_skip);
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_P(GoldenTest, IncrementalDecoderStreamsDecode) {
  const Tokenizer* tokenizer = RealTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  int mismatches = 0;
  for (const GoldenCase& golden : LoadGoldens(GetParam())) {
    for (const bool skip : {false, true}) {
      IncrementalDecoder decoder(*tokenizer, skip);
      std::string streamed;
      bool chunks_valid = true;
      for (const std::int32_t id : golden.ids_special) {
        const std::string chunk = decoder.Push(id);
        chunks_valid = chunks_valid && IsValidUtf8(chunk);
        streamed += chunk;
      }
      const std::string rest = decoder.Flush();
      chunks_valid = chunks_valid && IsValidUtf8(rest);
      streamed += rest;
      const std::string expected = tokenizer->Decode(golden.ids_special, skip);
      if (streamed != expected || !chunks_valid) {
        if (++mismatches <= 5) {
          ADD_FAILURE() << "ids " << Show(golden.ids_special) << " skip=" << skip
                        << "\n  streamed: " << common::QuoteJsonString(streamed)
                        << (chunks_valid ? "" : " (a chunk was invalid UTF-8)")
                        << "\n  decoded:  " << common::QuoteJsonString(expected);
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_P(GoldenTest, ConcurrentEncodesAgree) {
  const Tokenizer* tokenizer = RealTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<GoldenCase> cases = LoadGoldens(GetParam());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t]() {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = t; i < cases.size(); i += 2) {
          if (tokenizer->Encode(cases[i].text, false) != cases[i].ids) ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST_P(GoldenTest, VocabularyLookups) {
  const Tokenizer* tokenizer = RealTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  if (GetParam() == "gemma3") {
    EXPECT_EQ(tokenizer->vocab_size(), 262145);
    EXPECT_EQ(tokenizer->TokenToId("<bos>"), 2);
    EXPECT_EQ(tokenizer->TokenToId("<end_of_turn>"), 106);
    EXPECT_EQ(tokenizer->IdToToken(106), "<end_of_turn>");
    EXPECT_EQ(tokenizer->TokenToId("<image_soft_token>"), 262144);
    EXPECT_TRUE(tokenizer->IsSpecial(106));
    EXPECT_FALSE(tokenizer->IsSpecial(107));  // "\n", an added token that is not special
    EXPECT_FALSE(tokenizer->IsSpecial(9259));
  } else {
    EXPECT_EQ(tokenizer->vocab_size(), 151669);
    EXPECT_EQ(tokenizer->TokenToId("<|im_end|>"), 151645);
    EXPECT_EQ(tokenizer->IdToToken(151667), "<think>");
    EXPECT_TRUE(tokenizer->IsSpecial(151645));
    EXPECT_FALSE(tokenizer->IsSpecial(151667));
    EXPECT_EQ(tokenizer->TokenToId("Ġthe"), 279);
  }
  EXPECT_EQ(tokenizer->TokenToId("no such token \x01"), std::nullopt);
  EXPECT_EQ(tokenizer->IdToToken(-1), std::nullopt);
  EXPECT_EQ(tokenizer->IdToToken(tokenizer->vocab_size()), std::nullopt);
}

TEST_P(GoldenTest, InvalidUtf8InputIsRepairedFirst) {
  const Tokenizer* tokenizer = RealTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->Encode("a\xFF"
                              "b\xE4\xBD",
                              false),
            tokenizer->Encode("a\xEF\xBF\xBD"
                              "b\xEF\xBF\xBD",
                              false));
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, GoldenTest, ::testing::Values("gemma3", "qwen3"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace gspo::tokenizer
