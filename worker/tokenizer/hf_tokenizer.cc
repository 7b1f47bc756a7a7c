#include "worker/tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <utility>

#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {

std::vector<std::int32_t> HfTokenizer::Encode(std::string_view text,
                                              bool add_special_tokens) const {
  std::string repaired;
  if (!IsValidUtf8(text)) {
    repaired = Utf8Lossy(text);
    text = repaired;
  }
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (added_.HasTokens(/*normalized=*/false)) {
    std::vector<Segment> segments;
    added_.Split(text, /*normalized=*/false, &segments);
    for (const Segment& segment : segments) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
      } else {
        EncodeRaw(text.substr(segment.start, segment.end - segment.start), segment.start == 0,
                  &ids);
      }
    }
  } else if (!text.empty()) {
    EncodeRaw(text, /*at_origin=*/true, &ids);
  }
  if (add_special_tokens && post_processor_ != nullptr) post_processor_->Process(&ids);
  return ids;
}

void HfTokenizer::EncodeRaw(std::string_view raw, bool at_origin,
                            std::vector<std::int32_t>* ids) const {
  std::vector<PreToken> pieces;
  std::string normalized(raw);
  bool start_moved = false;
  if (normalizer_ != nullptr) normalizer_->Normalize(&normalized, &start_moved);
  if (normalized.empty()) return;
  // Hugging Face slices the normalized text (also when nothing matches), so a piece keeps
  // at_origin only when its first character still lines up with the input's start.
  at_origin = at_origin && !start_moved;
  const auto flush = [&]() {
    if (pre_tokenizer_ != nullptr) pre_tokenizer_->PreTokenize(&pieces);
    for (const PreToken& piece : pieces) model_->Tokenize(piece.text, ids);
    pieces.clear();
  };
  if (added_.HasTokens(/*normalized=*/true)) {
    std::vector<Segment> segments;
    added_.Split(normalized, /*normalized=*/true, &segments);
    for (const Segment& segment : segments) {
      if (segment.id >= 0) {
        flush();  // the text before the token first, so ids keep the text's order
        ids->push_back(segment.id);
      } else if (segment.end > segment.start) {
        pieces.push_back({normalized.substr(segment.start, segment.end - segment.start),
                          at_origin && segment.start == 0, true});
      }
    }
  } else {
    pieces.push_back({std::move(normalized), at_origin, true});
  }
  flush();
}

std::string HfTokenizer::Decode(const std::vector<std::int32_t>& ids,
                                bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const std::int32_t id : ids) {
    const std::string* token = nullptr;
    if (const AddedToken* added = added_.Find(id); added != nullptr) {
      token = &added_.DecodeForm(*added);
    } else {
      token = model_->IdToToken(id);
    }
    if (token == nullptr) continue;
    if (skip_special_tokens && added_.IsSpecialContent(*token)) continue;
    tokens.push_back(*token);
  }
  std::string text;
  if (decoder_ != nullptr) {
    decoder_->DecodeChain(&tokens);
    for (const std::string& token : tokens) text.append(token);
  } else {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) text.push_back(' ');
      text.append(tokens[i]);
    }
  }
  return text;
}

std::int32_t HfTokenizer::vocab_size() const { return std::max(model_->id_end(), added_.id_end()); }

std::optional<std::int32_t> HfTokenizer::TokenToId(std::string_view token) const {
  std::int32_t id = added_.TokenToId(token);
  if (id < 0) id = model_->TokenToId(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::optional<std::string> HfTokenizer::IdToToken(std::int32_t id) const {
  if (const AddedToken* added = added_.Find(id); added != nullptr) return added_.DecodeForm(*added);
  if (const std::string* token = model_->IdToToken(id); token != nullptr) return *token;
  return std::nullopt;
}

bool HfTokenizer::IsSpecial(std::int32_t id) const {
  const AddedToken* added = added_.Find(id);
  return added != nullptr && added->special;
}

}  // namespace gspo::tokenizer
