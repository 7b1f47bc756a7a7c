// UTF-8 primitives shared by the JSON parser, the YAML checks, error-message quoting and the
// tokenizer. Stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gspo::common {

// Length of the well-formed UTF-8 sequence (Unicode table 3-7: no overlong forms, no
// surrogates, nothing past U+10FFFF) that starts with a non-ASCII byte at text[i]; 0 when the
// byte is ASCII or the sequence is invalid or truncated.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

// Appends the UTF-8 encoding of code point `cp` (at most U+10FFFF).
void AppendUtf8(char32_t cp, std::string* out);

// `text` with every byte that is not part of a well-formed sequence replaced by U+FFFD, so it
// can travel in a protobuf string field (process output, file contents of unknown encoding).
std::string ToValidUtf8(std::string_view text);

}  // namespace gspo::common
