// HfTokenizer: the Tokenizer for a Hugging Face tokenizer.json, assembled from its components
// (added vocabulary, normalizer, pre-tokenizer, BPE model, post-processor, decoder).
//
//   Encode: added tokens with normalized=false split out of the raw text -> each other piece
//   normalized -> normalized=true added tokens split out -> pre-tokenizer -> BPE per word ->
//   post-processor (only with add_special_tokens).
//   Decode: id -> token string (added tokens in their normalized form) -> decoder chain -> text.
//
// Owns its components; immutable after construction, so Encode and Decode may run on many
// threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/added_vocabulary.h"
#include "worker/tokenizer/bpe_model.h"
#include "worker/tokenizer/decoders.h"
#include "worker/tokenizer/normalizers.h"
#include "worker/tokenizer/post_processor.h"
#include "worker/tokenizer/pre_tokenizers.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer {

class HfTokenizer : public Tokenizer {
 public:
  // `document` is the parsed tokenizer.json; errors name `source` and the component.
  static common::StatusOr<std::unique_ptr<HfTokenizer>> FromDocument(const common::Json& document,
                                                                     const std::string& source);

  // Input that is not valid UTF-8 is first repaired as String::from_utf8_lossy does.
  std::vector<std::int32_t> Encode(std::string_view text, bool add_special_tokens) const override;
  // Ids that are neither in the vocabulary nor added tokens are skipped, as in Hugging Face.
  std::string Decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const override;

  std::int32_t vocab_size() const override;
  std::optional<std::int32_t> TokenToId(std::string_view token) const override;
  // As in Hugging Face, an added token with normalized=true comes out in its normalized form.
  std::optional<std::string> IdToToken(std::int32_t id) const override;
  bool IsSpecial(std::int32_t id) const override;

 private:
  HfTokenizer() = default;
  // Encodes text that contains no normalized=false added token; `at_origin` when it starts the
  // input.
  void EncodeRaw(std::string_view raw, bool at_origin, std::vector<std::int32_t>* ids) const;

  AddedVocabulary added_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
};

}  // namespace gspo::tokenizer
