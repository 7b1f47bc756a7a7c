#include "worker/tokenizer/unicode.h"

#include <utf8proc.h>

#include <array>
#include <cstdlib>

namespace gspo::tokenizer {
namespace {

bool InRange(unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; }

utf8proc_category_t Category(char32_t cp) {
  return static_cast<utf8proc_category_t>(utf8proc_category(static_cast<utf8proc_int32_t>(cp)));
}

// Normalizes one stretch that contains non-ASCII characters.
void NormalizeChunk(std::string_view chunk, NormalizationForm form, std::string* out) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalizationForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalizationForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalizationForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalizationForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(chunk.data()),
                                          static_cast<utf8proc_ssize_t>(chunk.size()), &result,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    out->append(chunk);  // Only for invalid input, which callers never pass.
  } else {
    out->append(reinterpret_cast<const char*>(result), static_cast<std::size_t>(n));
  }
  std::free(result);
}

struct ByteTables {
  std::array<std::string, 256> byte_to_char;
  std::array<std::int16_t, 512> char_to_byte;
  ByteTables() {
    char_to_byte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      byte_to_char[b] = EncodeUtf8(cp);
      char_to_byte[cp] = static_cast<std::int16_t>(b);
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables* tables = new ByteTables();
  return *tables;
}

}  // namespace

std::int32_t DecodeUtf8(std::string_view text, std::size_t pos, std::size_t* length) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  const unsigned char c = s[pos];
  *length = 1;
  if (c < 0x80) return c;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  std::int32_t cp;
  if (InRange(c, 0xC2, 0xDF)) {
    need = 1;
    cp = c & 0x1F;
  } else if (InRange(c, 0xE0, 0xEF)) {
    need = 2;
    cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (InRange(c, 0xF0, 0xF4)) {
    need = 3;
    cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int i = 1; i <= need; ++i) {
    if (pos + i >= n) return -1;
    const unsigned char b = s[pos + i];
    if (!InRange(b, i == 1 ? lo : 0x80, i == 1 ? hi : 0xBF)) return -1;
    cp = (cp << 6) | (b & 0x3F);
    *length = i + 1;
  }
  return cp;
}

std::string EncodeUtf8(char32_t cp) {
  std::string out;
  AppendUtf8(cp, &out);
  return out;
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t length;
    if (DecodeUtf8(text, i, &length) < 0) return false;
    i += length;
  }
  return true;
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t length;
    if (DecodeUtf8(bytes, i, &length) < 0) {
      out.append(kReplacementChar);
    } else {
      out.append(bytes.substr(i, length));
    }
    i += length;
  }
  return out;
}

bool IsWhitespace(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool IsWordChar(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  if (cp == 0x200C || cp == 0x200D) return true;  // Join_Control
  // Other_Alphabetic symbols: circled and squared Latin letters.
  if ((cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
      (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189)) {
    return true;
  }
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

bool IsNumeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const auto category = Category(cp);
  return category == UTF8PROC_CATEGORY_ND || category == UTF8PROC_CATEGORY_NL ||
         category == UTF8PROC_CATEGORY_NO;
}

bool IsPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E);
  }
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool IsCombiningMark(char32_t cp) {
  if (cp < 0x300) return false;
  const auto category = Category(cp);
  return category == UTF8PROC_CATEGORY_MN || category == UTF8PROC_CATEGORY_MC ||
         category == UTF8PROC_CATEGORY_ME;
}

std::string NormalizeUnicode(std::string_view text, NormalizationForm form) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    // Copy the ASCII stretch but keep its last character when non-ASCII follows: a combining
    // mark may compose with it. Normalization never reaches across an ASCII character
    // otherwise (ASCII characters are starters that compose with nothing after them).
    std::size_t j = i;
    while (j < n && static_cast<unsigned char>(text[j]) < 0x80) ++j;
    if (j == n) {
      out.append(text.substr(i));
      break;
    }
    const std::size_t chunk_start = j > i ? j - 1 : j;
    out.append(text.substr(i, chunk_start - i));
    std::size_t k = j;
    while (k < n) {
      const auto c = static_cast<unsigned char>(text[k]);
      if (c < 0x80) break;
      k += Utf8Length(c);
    }
    NormalizeChunk(text.substr(chunk_start, k - chunk_start), form, &out);
    i = k;
  }
  return out;
}

std::string LowercaseUnicode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : static_cast<char>(c));
      ++i;
      continue;
    }
    const char32_t cp = NextChar(text, &i);
    if (cp == 0x130) {
      out.append("i\xCC\x87");  // U+0069 U+0307
    } else {
      AppendUtf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))), &out);
    }
  }
  return out;
}

const std::string& ByteToUnicode(unsigned char byte) { return Tables().byte_to_char[byte]; }

int UnicodeToByte(char32_t cp) { return cp < 512 ? Tables().char_to_byte[cp] : -1; }

}  // namespace gspo::tokenizer
