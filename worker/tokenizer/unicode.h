// Unicode helpers for the tokenizer: UTF-8 decoding and repair (with the replacement rules of
// Rust's String::from_utf8_lossy, which Hugging Face decoders use), the character classes that
// Rust's char methods and regex crate define (whitespace, \w, numeric, punctuation), Unicode
// normalization forms and lowercasing through utf8proc, and the GPT-2 byte-to-character table.
//
// Free functions over immutable tables; safe to call from any thread.
#pragma once

#include "common/utf8.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gspo::tokenizer {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Decodes the character at text[pos]. Returns its code point and sets *length to its size in
// bytes; for an invalid sequence returns -1 and sets *length to the size of its maximal valid
// prefix (at least 1), which from_utf8_lossy replaces by one U+FFFD.
std::int32_t DecodeUtf8(std::string_view text, std::size_t pos, std::size_t* length);

// Decodes a character of text known to be valid UTF-8 (no checks).
inline char32_t NextChar(std::string_view text, std::size_t* pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char c = s[*pos];
  if (c < 0x80) {
    ++*pos;
    return c;
  }
  if (c < 0xE0) {
    const char32_t cp = ((c & 0x1Fu) << 6) | (s[*pos + 1] & 0x3Fu);
    *pos += 2;
    return cp;
  }
  if (c < 0xF0) {
    const char32_t cp = ((c & 0x0Fu) << 12) | ((s[*pos + 1] & 0x3Fu) << 6) | (s[*pos + 2] & 0x3Fu);
    *pos += 3;
    return cp;
  }
  const char32_t cp = ((c & 0x07u) << 18) | ((s[*pos + 1] & 0x3Fu) << 12) |
                      ((s[*pos + 2] & 0x3Fu) << 6) | (s[*pos + 3] & 0x3Fu);
  *pos += 4;
  return cp;
}

// Size in bytes of the character starting with lead byte `c` of valid UTF-8.
inline std::size_t Utf8Length(unsigned char c) {
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

using common::AppendUtf8;  // common/utf8.h
std::string EncodeUtf8(char32_t cp);

bool IsValidUtf8(std::string_view text);
// `bytes` with each invalid sequence replaced by U+FFFD exactly as String::from_utf8_lossy does.
std::string Utf8Lossy(std::string_view bytes);

// Rust char::is_whitespace (the White_Space property); also what \s matches in the regex
// engines Hugging Face uses (Oniguruma, the regex crate).
bool IsWhitespace(char32_t cp);
// Rust regex \w: Alphabetic, marks, decimal digits, connector punctuation, joiners.
bool IsWordChar(char32_t cp);
// Rust char::is_numeric: general categories Nd, Nl, No.
bool IsNumeric(char32_t cp);
// ASCII punctuation or a general category P*.
bool IsPunctuation(char32_t cp);
// General categories Mn, Mc, Me.
bool IsCombiningMark(char32_t cp);

enum class NormalizationForm { kNfc, kNfd, kNfkc, kNfkd };
// Normalizes valid UTF-8 `text`; ASCII stretches are copied without calling utf8proc.
std::string NormalizeUnicode(std::string_view text, NormalizationForm form);
// Rust's per-character to_lowercase (U+0130 becomes "i\u0307").
std::string LowercaseUnicode(std::string_view text);

// GPT-2's byte-level alphabet: each byte as a printable character (UTF-8 encoded).
const std::string& ByteToUnicode(unsigned char byte);
// The byte a byte-level character stands for, or -1 for other characters.
int UnicodeToByte(char32_t cp);

}  // namespace gspo::tokenizer
