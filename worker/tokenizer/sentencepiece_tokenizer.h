// SentencePieceTokenizer: the Tokenizer for checkpoints that ship only a SentencePiece
// tokenizer.model, a thin adapter over libsentencepiece. Encode returns the processor's own
// ids (BOS first with add_special_tokens when the model has one); special tokens are the
// model's control symbols (<s>, </s>, <pad>...).
//
// Owns the processor; immutable after loading and safe to use from many threads (the
// processor's encode and decode calls are const).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}  // namespace sentencepiece

namespace gspo::tokenizer {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // Errors are kInvalidArgument "PATH: <sentencepiece's reason>".
  static common::StatusOr<std::unique_ptr<SentencePieceTokenizer>> FromFile(
      const std::string& path);
  ~SentencePieceTokenizer() override;

  std::vector<std::int32_t> Encode(std::string_view text, bool add_special_tokens) const override;
  // Control symbols come out as their piece text (e.g. "<s>") unless skipped.
  std::string Decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const override;

  std::int32_t vocab_size() const override;
  std::optional<std::int32_t> TokenToId(std::string_view token) const override;
  std::optional<std::string> IdToToken(std::int32_t id) const override;
  bool IsSpecial(std::int32_t id) const override;

 private:
  SentencePieceTokenizer();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace gspo::tokenizer
