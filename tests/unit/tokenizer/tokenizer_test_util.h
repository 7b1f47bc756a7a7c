// Shared by the tokenizer component tests: writes small tokenizer.json documents by hand
// (a BPE vocabulary and merges plus optional components) and loads them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer::testing {

struct Spec {
  Spec(std::vector<std::string> vocab_in, std::vector<std::string> merges_in,
       std::string model_extra_in = "")
      : vocab(std::move(vocab_in)),
        merges(std::move(merges_in)),
        model_extra(std::move(model_extra_in)) {}

  std::vector<std::string> vocab;   // id = position
  std::vector<std::string> merges;  // "a b"
  std::string model_extra;          // more members of "model", e.g. "\"ignore_merges\": true"
  std::string normalizer = "null";
  std::string pre_tokenizer = "null";
  std::string post_processor = "null";
  std::string decoder = "null";
  std::string added_tokens = "[]";
};

inline std::string ToJson(const Spec& spec) {
  std::string vocab = "{";
  for (std::size_t i = 0; i < spec.vocab.size(); ++i) {
    vocab += (i ? ", " : "") + common::QuoteJsonString(spec.vocab[i]) + ": " + std::to_string(i);
  }
  vocab += "}";
  std::string merges = "[";
  for (std::size_t i = 0; i < spec.merges.size(); ++i) {
    merges += (i ? ", " : "") + common::QuoteJsonString(spec.merges[i]);
  }
  merges += "]";
  return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": " +
         spec.added_tokens + ", \"normalizer\": " + spec.normalizer +
         ", \"pre_tokenizer\": " + spec.pre_tokenizer +
         ", \"post_processor\": " + spec.post_processor + ", \"decoder\": " + spec.decoder +
         ", \"model\": {\"type\": \"BPE\", \"dropout\": null" +
         (spec.model_extra.empty() ? "" : ", " + spec.model_extra) + ", \"vocab\": " + vocab +
         ", \"merges\": " + merges + "}}";
}

// One entry of "added_tokens".
inline std::string Added(int id, const std::string& content, bool special = false,
                         bool lstrip = false, bool rstrip = false, bool single_word = false,
                         bool normalized = false) {
  const auto flag = [](bool value) { return value ? "true" : "false"; };
  return "{\"id\": " + std::to_string(id) + ", \"content\": " + common::QuoteJsonString(content) +
         ", \"single_word\": " + flag(single_word) + ", \"lstrip\": " + flag(lstrip) +
         ", \"rstrip\": " + flag(rstrip) + ", \"normalized\": " + flag(normalized) +
         ", \"special\": " + flag(special) + "}";
}

// Loads `spec`; a load error fails the test and returns null.
inline std::unique_ptr<Tokenizer> Build(const Spec& spec) {
  auto tokenizer = Tokenizer::FromJson(ToJson(spec), "test.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status() << "\n" << ToJson(spec);
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

// The token strings of Encode(text), for readable expectations.
inline std::vector<std::string> Pieces(const Tokenizer& tokenizer, const std::string& text,
                                       bool add_special_tokens = false) {
  std::vector<std::string> pieces;
  for (const std::int32_t id : tokenizer.Encode(text, add_special_tokens)) {
    pieces.push_back(tokenizer.IdToToken(id).value_or("?"));
  }
  return pieces;
}

using Ids = std::vector<std::int32_t>;
using Strings = std::vector<std::string>;

}  // namespace gspo::tokenizer::testing
