#include <string_view>

#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the prefix of `text` that later ids cannot change: it does not end inside a UTF-8
// sequence, nor with U+FFFD, which decoders emit for bytes that a later token may complete.
std::size_t CompletePrefix(const std::string& text) {
  std::size_t end = text.size();
  while (end >= kReplacement.size() &&
         std::string_view(text).substr(end - kReplacement.size(), kReplacement.size()) == kReplacement) {
    end -= kReplacement.size();
  }
  if (end < text.size()) return end;
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  std::size_t i = end;
  int continuation = 0;
  while (i > 0 && continuation < 3 && (static_cast<unsigned char>(text[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++continuation;
  }
  if (i == 0) return end;
  const unsigned char lead = static_cast<unsigned char>(text[i - 1]);
  const int needed = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  return needed > continuation ? i - 1 : end;
}

}  // namespace

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string IncrementalDecoder::Push(std::int32_t id) {
  ids_.push_back(id);
  // Decoding the whole stream keeps decoders that look at neighbours (Strip, byte fallback)
  // exact; the text before emitted_bytes_ never changes once complete.
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  const std::size_t complete = CompletePrefix(text);
  if (complete <= emitted_bytes_) return "";
  std::string fresh = text.substr(emitted_bytes_, complete - emitted_bytes_);
  emitted_bytes_ = complete;
  return fresh;
}

std::string IncrementalDecoder::Flush() {
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  std::string rest = text.size() > emitted_bytes_ ? text.substr(emitted_bytes_) : "";
  emitted_bytes_ = text.size();
  return rest;
}

}  // namespace gspo::tokenizer
