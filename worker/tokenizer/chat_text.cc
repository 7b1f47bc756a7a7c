#include "worker/tokenizer/chat_text.h"

#include <cstdint>

namespace gspo::tokenizer::chat_text {
namespace {

bool IsPythonSpace(std::uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Length of a UTF-8 sequence from its lead byte; 0 for a byte that cannot start one.
int SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Decodes the character of `length` bytes at `p` (already known to be well formed in length).
std::uint32_t Decode(const unsigned char* p, int length) {
  if (length == 1) return p[0];
  std::uint32_t c = p[0] & (0x7F >> length);
  for (int i = 1; i < length; ++i) c = (c << 6) | (p[i] & 0x3F);
  return c;
}

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace

std::string_view Trim(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end) {
    const int length = SequenceLength(bytes[begin]);
    if (length == 0 || begin + length > end) break;
    bool well_formed = true;
    for (int i = 1; i < length; ++i) well_formed = well_formed && IsContinuation(bytes[begin + i]);
    if (!well_formed || !IsPythonSpace(Decode(bytes + begin, length))) break;
    begin += length;
  }
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && end - start < 4 && IsContinuation(bytes[start])) --start;
    const int length = SequenceLength(bytes[start]);
    if (length == 0 || start + length != end) break;
    if (!IsPythonSpace(Decode(bytes + start, length))) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

std::string_view LStripChar(std::string_view text, char c) {
  const std::size_t begin = text.find_first_not_of(c);
  return begin == std::string_view::npos ? std::string_view() : text.substr(begin);
}

std::string_view RStripChar(std::string_view text, char c) {
  const std::size_t last = text.find_last_not_of(c);
  return last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
}

std::string_view StripChar(std::string_view text, char c) {
  return RStripChar(LStripChar(text, c), c);
}

std::string_view BeforeFirst(std::string_view text, std::string_view separator) {
  const std::size_t at = text.find(separator);
  return at == std::string_view::npos ? text : text.substr(0, at);
}

std::string_view AfterLast(std::string_view text, std::string_view separator) {
  const std::size_t at = text.rfind(separator);
  return at == std::string_view::npos ? text : text.substr(at + separator.size());
}

std::string UnescapeJinjaLiteral(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char next = body[++i];
    switch (next) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
      case '\'':
      case '"':
        out += next;
        break;
      default:
        out += '\\';
        out += next;
        break;
    }
  }
  return out;
}

}  // namespace gspo::tokenizer::chat_text
