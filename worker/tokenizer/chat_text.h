// String helpers that reproduce the Python/Jinja string operations chat templates use, byte for
// byte, so rendered prompts equal the templates' output. Internal to the chat formats.
//
// Pure functions without shared state; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

namespace gspo::tokenizer::chat_text {

// Python's str.strip() (Jinja's `| trim`): removes the characters str.isspace() accepts from both
// ends: ASCII whitespace, U+001C..U+001F, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
// U+2029, U+202F, U+205F, U+3000. Invalid UTF-8 at an end stops the stripping there.
std::string_view Trim(std::string_view text);

// Python's str.strip(c) / lstrip(c) / rstrip(c) for a single ASCII character.
std::string_view StripChar(std::string_view text, char c);
std::string_view LStripChar(std::string_view text, char c);
std::string_view RStripChar(std::string_view text, char c);

// Python's text.split(separator)[0] and text.split(separator)[-1].
std::string_view BeforeFirst(std::string_view text, std::string_view separator);
std::string_view AfterLast(std::string_view text, std::string_view separator);

// The text of a Jinja string literal's body: \n, \t, \r, \\, \' and \" unescaped; other bytes
// kept.
std::string UnescapeJinjaLiteral(std::string_view body);

}  // namespace gspo::tokenizer::chat_text
