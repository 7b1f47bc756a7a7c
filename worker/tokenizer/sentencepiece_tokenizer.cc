#include "worker/tokenizer/sentencepiece_tokenizer.h"
#include "worker/tokenizer/sentencepiece_loader.h"

#include <sentencepiece_processor.h>

#include <utility>

namespace gspo::tokenizer {

SentencePieceTokenizer::SentencePieceTokenizer()
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

common::StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::FromFile(
    const std::string& path) {
  std::unique_ptr<SentencePieceTokenizer> tokenizer(new SentencePieceTokenizer());
  const sentencepiece::util::Status status = tokenizer->processor_->Load(path);
  if (!status.ok()) return common::InvalidArgumentError(path + ": " + status.ToString());
  return tokenizer;
}

std::vector<std::int32_t> SentencePieceTokenizer::Encode(std::string_view text,
                                                         bool add_special_tokens) const {
  std::vector<int> pieces;
  processor_->Encode(text, &pieces).IgnoreError();
  std::vector<std::int32_t> ids;
  ids.reserve(pieces.size() + 1);
  if (add_special_tokens && processor_->bos_id() >= 0) ids.push_back(processor_->bos_id());
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  return ids;
}

std::string SentencePieceTokenizer::Decode(const std::vector<std::int32_t>& ids,
                                           bool skip_special_tokens) const {
  std::string text;
  std::vector<int> run;  // ids decoded together, between control symbols
  const auto flush = [&]() {
    if (run.empty()) return;
    std::string piece;
    processor_->Decode(run, &piece).IgnoreError();
    text.append(piece);
    run.clear();
  };
  for (const std::int32_t id : ids) {
    if (id < 0 || id >= processor_->GetPieceSize()) continue;
    if (processor_->IsControl(id)) {
      if (skip_special_tokens) continue;
      flush();
      text.append(processor_->IdToPiece(id));
      continue;
    }
    run.push_back(id);
  }
  flush();
  return text;
}

std::int32_t SentencePieceTokenizer::vocab_size() const { return processor_->GetPieceSize(); }

std::optional<std::int32_t> SentencePieceTokenizer::TokenToId(std::string_view token) const {
  const int id = processor_->PieceToId(token);
  if (id < 0 || processor_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

std::optional<std::string> SentencePieceTokenizer::IdToToken(std::int32_t id) const {
  if (id < 0 || id >= processor_->GetPieceSize()) return std::nullopt;
  return processor_->IdToPiece(id);
}

bool SentencePieceTokenizer::IsSpecial(std::int32_t id) const {
  return id >= 0 && id < processor_->GetPieceSize() && processor_->IsControl(id);
}

}  // namespace gspo::tokenizer

namespace gspo::tokenizer {
namespace {

common::StatusOr<std::unique_ptr<Tokenizer>> LoadSentencePiece(const std::string& path) {
  GSPO_ASSIGN_OR_RETURN(std::unique_ptr<SentencePieceTokenizer> tokenizer,
                        SentencePieceTokenizer::FromFile(path));
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

}  // namespace

void EnableSentencePiece() { SetSentencePieceLoader(&LoadSentencePiece); }

}  // namespace gspo::tokenizer
