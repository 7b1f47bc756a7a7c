// Tokenizer: Hugging Face tokenizer.json (and SentencePiece tokenizer.model) in C++, producing
// exactly the ids of the Hugging Face `tokenizers` library.
//
//   text ─▶ added/special tokens split out ─▶ normalizer ─▶ pre-tokenizer ─▶ BPE model ─▶ ids
//   ids  ─▶ tokens ─▶ decoder chain ─▶ text          (post-processor adds BOS etc. on request)
//
// Immutable after loading: Encode and Decode are const and safe to call from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace gspo::tokenizer {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // tokenizer.json text; errors name `source` and the offending component.
  static common::StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view json,
                                                               const std::string& source);
  static common::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& path);
  // DIR/tokenizer.json, else DIR/tokenizer.model (SentencePiece).
  static common::StatusOr<std::unique_ptr<Tokenizer>> FromDirectory(const std::string& dir);

  // Ids of `text`; with `add_special_tokens` the post-processor's tokens (e.g. BOS) are added.
  virtual std::vector<std::int32_t> Encode(std::string_view text, bool add_special_tokens) const = 0;
  // Text of `ids`; with `skip_special_tokens` special added tokens are left out.
  virtual std::string Decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const = 0;

  // Size of the id space: the model's vocabulary and the added tokens.
  virtual std::int32_t vocab_size() const = 0;
  virtual std::optional<std::int32_t> TokenToId(std::string_view token) const = 0;
  virtual std::optional<std::string> IdToToken(std::int32_t id) const = 0;
  // True for added tokens marked "special" (<bos>, <end_of_turn>, <|im_end|>...).
  virtual bool IsSpecial(std::int32_t id) const = 0;
};

// Streaming detokenization: feed ids one at a time, get the text they complete. Text is only
// released once it is valid UTF-8 (a character split over several byte tokens waits for its last
// byte), and equals Decode() of all ids so far once Flush() is called.
// Not thread-safe; one per stream. Borrows the tokenizer, which must outlive it.
class IncrementalDecoder {
 public:
  IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens);
  std::string Push(std::int32_t id);
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::vector<std::int32_t> ids_;
  std::size_t emitted_bytes_ = 0;
};

}  // namespace gspo::tokenizer
