// Shared by the chat tests: the apply_chat_template goldens (tests/data/tokenizers/NAME.json),
// the real tokenizers and chat formats they were made from (loaded once per process), and a tiny
// fake Tokenizer for tests that need no real vocabulary.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "tests/fakes/test_data.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/chat_messages.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer::testing {

struct ChatGolden {
  std::vector<ChatMessage> messages;
  bool add_generation_prompt = false;
  std::string text;
  std::vector<std::int32_t> ids;
};

// The "chat" cases of tests/data/tokenizers/<name>.json; fails the test when unreadable.
inline std::vector<ChatGolden> LoadChatGoldens(const std::string& name) {
  const std::string path =
      std::string(GSPO_SOURCE_DIR) + "/tests/data/tokenizers/" + name + ".json";
  std::vector<ChatGolden> goldens;
  auto text = common::ReadFileToString(path, 64 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return goldens;
  auto json = common::ParseJson(*text, path);
  EXPECT_TRUE(json.ok()) << json.status();
  if (!json.ok() || json->Find("chat") == nullptr) return goldens;
  for (const common::Json& item : json->Find("chat")->elements()) {
    ChatGolden golden;
    auto messages = ChatMessagesFromJson(*item.Find("messages"), path);
    EXPECT_TRUE(messages.ok()) << messages.status();
    if (messages.ok()) golden.messages = *messages;
    golden.add_generation_prompt = item.Find("add_generation_prompt")->AsBool();
    golden.text = item.Find("text")->AsString();
    for (const common::Json& id : item.Find("ids")->elements()) {
      golden.ids.push_back(static_cast<std::int32_t>(id.AsInt64().value_or(-1)));
    }
    goldens.push_back(std::move(golden));
  }
  return goldens;
}

// The real tokenizer of TestTokenizerDir(name), loaded once; nullptr (and a failure) when absent.
inline const Tokenizer* RealTokenizer(const std::string& name) {
  static auto* cache = new std::map<std::string, std::unique_ptr<Tokenizer>>();
  auto it = cache->find(name);
  if (it == cache->end()) {
    auto loaded = Tokenizer::FromDirectory(gspo::testing::TestTokenizerDir(name));
    EXPECT_TRUE(loaded.ok()) << loaded.status() << " (scripts/fetch-test-tokenizers.sh fetches it)";
    it = cache->emplace(name, loaded.ok() ? std::move(loaded).value() : nullptr).first;
  }
  if (it->second == nullptr) ADD_FAILURE() << "no tokenizer " << name;
  return it->second.get();
}

inline ChatFormat RealFormat(const std::string& name) {
  auto format = ChatFormat::FromDirectory(gspo::testing::TestTokenizerDir(name));
  EXPECT_TRUE(format.ok()) << format.status();
  return format.ok() ? *format : ChatFormat::ForFamily(ChatFamily::kChatMl);
}

// Ids 0..N-1 are the given special tokens, matched whole wherever they appear (earlier ones
// first); every other byte b is id kByteBase + b. Decode inverts Encode.
class FakeTokenizer : public Tokenizer {
 public:
  static constexpr std::int32_t kByteBase = 1000;

  explicit FakeTokenizer(std::vector<std::string> specials) : specials_(std::move(specials)) {}

  std::vector<std::int32_t> Encode(std::string_view text, bool add_special_tokens) const override {
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < text.size();) {
      bool matched = false;
      for (std::size_t s = 0; s < specials_.size() && !matched; ++s) {
        if (text.substr(i, specials_[s].size()) == specials_[s]) {
          ids.push_back(static_cast<std::int32_t>(s));
          i += specials_[s].size();
          matched = true;
        }
      }
      if (!matched) ids.push_back(kByteBase + static_cast<unsigned char>(text[i++]));
    }
    return ids;
  }
  std::string Decode(const std::vector<std::int32_t>& ids,
                     bool skip_special_tokens) const override {
    std::string text;
    for (std::int32_t id : ids) {
      if (id >= kByteBase) {
        text += static_cast<char>(id - kByteBase);
      } else if (!skip_special_tokens) {
        text += specials_[id];
      }
    }
    return text;
  }
  std::int32_t vocab_size() const override { return kByteBase + 256; }
  std::optional<std::int32_t> TokenToId(std::string_view token) const override {
    for (std::size_t s = 0; s < specials_.size(); ++s) {
      if (specials_[s] == token) return static_cast<std::int32_t>(s);
    }
    return std::nullopt;
  }
  std::optional<std::string> IdToToken(std::int32_t id) const override {
    if (id >= 0 && id < static_cast<std::int32_t>(specials_.size())) return specials_[id];
    return std::nullopt;
  }
  bool IsSpecial(std::int32_t id) const override {
    return id >= 0 && id < static_cast<std::int32_t>(specials_.size());
  }

 private:
  std::vector<std::string> specials_;
};

}  // namespace gspo::tokenizer::testing
