// AddedVocabulary: tokenizer.json's "added_tokens" (special tokens like <bos> and plain added
// tokens like <think>), matched in the text before the model sees it, as Hugging Face's
// AddedVocabulary does: tokens with normalized=false are found in the raw text first; the rest
// of the text is normalized and then searched for the normalized=true tokens. Matching is
// leftmost-longest; single_word rejects matches inside a word; lstrip/rstrip absorb the
// whitespace next to the token.
//
// Built once while loading, then immutable: Split and the lookups are safe from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "worker/tokenizer/flat_hash.h"
#include "worker/tokenizer/json_util.h"
#include "worker/tokenizer/normalizers.h"

namespace gspo::tokenizer {

class BpeModel;

struct AddedToken {
  std::string content;
  std::int32_t id = -1;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
};

// A stretch of text: an added token (id >= 0) or text for the model (id < 0).
struct Segment {
  std::int32_t id;
  std::size_t start;
  std::size_t end;
};

class AddedVocabulary {
 public:
  // Adds `token` as Hugging Face's add_tokens does: a content already known (added or in the
  // model's vocabulary) keeps that id, new contents are numbered after the vocabulary. The
  // file's id must agree, else an error ("id collision") naming `context`.
  common::Status Add(const AddedToken& token, const BpeModel& model, const Normalizer* normalizer,
                     const JsonContext& context);
  // Builds the matchers; call once after the last Add.
  void Finalize();

  // Splits valid UTF-8 `text` around the tokens with normalized == `normalized`; segments
  // cover the text in order (they may overlap where rstrip absorbed the start of a later match,
  // as in Hugging Face). Empty text gives no segments.
  void Split(std::string_view text, bool normalized, std::vector<Segment>* out) const;
  bool HasTokens(bool normalized) const { return !(normalized ? normalized_ : raw_).empty(); }

  // -1 when absent.
  std::int32_t TokenToId(std::string_view content) const;
  // The added token with this id, or nullptr.
  const AddedToken* Find(std::int32_t id) const;
  // The text Decode uses for an added token: its normalized form when normalization changed it.
  const std::string& DecodeForm(const AddedToken& token) const;
  // Whether `text` is the content of a special token (how Hugging Face skips them).
  bool IsSpecialContent(std::string_view text) const;
  // One past the largest added id (0 when none).
  std::int32_t id_end() const { return id_end_; }

 private:
  // A byte trie with leftmost-longest search.
  class Trie {
   public:
    Trie();
    void Insert(std::string_view pattern, std::int32_t value);
    bool empty() const { return terminal_.size() <= 1; }
    // Finds the leftmost-longest match starting at or after `from`.
    bool FindFrom(std::string_view text, std::size_t from, std::size_t* start, std::size_t* end,
                  std::int32_t* value) const;

   private:
    std::int32_t root_[256];
    std::vector<std::int32_t> terminal_{-1};  // per node: value, or -1
    PairMap children_;                        // (node << 8 | byte) -> child node
  };

  std::vector<AddedToken> tokens_;
  std::vector<std::string> decode_forms_;
  std::unordered_map<std::string, std::size_t> by_content_;
  std::unordered_map<std::int32_t, std::size_t> by_id_;
  std::unordered_set<std::string> special_contents_;
  std::int32_t next_id_ = -1;
  std::int32_t id_end_ = 0;
  Trie raw_;
  Trie normalized_;
};

}  // namespace gspo::tokenizer
