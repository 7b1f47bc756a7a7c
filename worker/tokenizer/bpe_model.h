// BpeModel: the "model" of tokenizer.json when its type is BPE, producing the ids of Hugging
// Face's BPE exactly: words start as one symbol per character (or <0xNN> byte tokens with
// byte_fallback, or the unk token, fused with fuse_unk), then the adjacent pair of lowest merge
// rank is merged until none is left (ties: leftmost); continuing_subword_prefix,
// end_of_word_suffix and ignore_merges as Hugging Face defines them.
//
// Long words are cut where no merge can ever join the two sides (the two characters are never
// adjacent inside a vocabulary token), which gives the same ids while keeping merging local and
// cacheable: Gemma's pre-tokenizer hands over whole lines as one word.
//
// Immutable after loading; Tokenize is const and thread-safe (the word cache locks).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/flat_hash.h"
#include "worker/tokenizer/json_util.h"
#include "worker/tokenizer/word_cache.h"

namespace gspo::tokenizer {

class BpeModel {
 public:
  // `json` is tokenizer.json's "model" object, of type BPE.
  static common::StatusOr<std::unique_ptr<BpeModel>> FromJson(const common::Json& json,
                                                              const JsonContext& context);

  // Appends the ids of one pre-tokenized word (valid UTF-8, non-empty).
  void Tokenize(std::string_view word, std::vector<std::int32_t>* ids) const;

  // -1 when absent.
  std::int32_t TokenToId(std::string_view token) const { return vocab_.Find(token); }
  // nullptr when no token has this id.
  const std::string* IdToToken(std::int32_t id) const;
  // Number of vocabulary entries (Hugging Face's get_vocab_size).
  std::int32_t vocab_size() const { return static_cast<std::int32_t>(vocab_.size()); }
  // One past the largest id.
  std::int32_t id_end() const { return static_cast<std::int32_t>(id_to_token_.size()); }

 private:
  struct Symbol {
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
    std::uint32_t length;  // bytes of the word; 0 once merged into its left neighbour
  };

  BpeModel() : cache_(1 << 16) {}
  common::Status BuildChunkTable();
  // Id of a single character in the middle of a word (no prefix or suffix), -1 if none.
  std::int32_t CharId(char32_t cp, std::string_view text) const;
  // Tokenizes `chunk`, merged as one word, through the cache.
  void TokenizeChunk(std::string_view chunk, std::vector<std::int32_t>* ids) const;
  void MergeWord(std::string_view word, std::vector<std::int32_t>* ids) const;
  void MergeSmall(std::vector<Symbol>* symbols) const;
  void MergeLarge(std::vector<Symbol>* symbols) const;

  StringIdMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  PairMap merges_;
  std::string prefix_;  // continuing_subword_prefix
  std::string suffix_;  // end_of_word_suffix
  std::int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::int32_t byte_ids_[256];
  // Ids of single-character tokens below U+10000 (-1 for none), for words without affixes.
  std::vector<std::int32_t> char_ids_;
  // Adjacent character pairs seen inside vocabulary tokens; empty disables chunking.
  PairMap adjacent_pairs_;
  bool chunking_ = false;
  WordCache cache_;
};

}  // namespace gspo::tokenizer
