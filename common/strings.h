// String helpers for parsing user input and writing error messages about it.
//
// Pure functions without shared state; safe to call from any thread.
#ifndef GSPO_COMMON_STRINGS_H_
#define GSPO_COMMON_STRINGS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gspo::common {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// adjacent characters each cost 1, so a typo like "gpso" for "gspo" is distance 1. Byte-wise.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, for "did you mean ...?" hints: only if its distance is at most
// max(2, word.size() / 3), so unrelated words get no suggestion. Ties go to the earlier one.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

std::string Join(const std::vector<std::string>& parts, std::string_view separator);
// Every separator splits, so "a,,b" gives {"a", "", "b"} and "" gives {""}.
std::vector<std::string> Split(std::string_view text, char separator);

bool StartsWith(std::string_view text, std::string_view prefix);
bool EndsWith(std::string_view text, std::string_view suffix);
// Removes ASCII whitespace (space, \t, \n, \v, \f, \r) from both ends.
std::string Trim(std::string_view text);

// Shows what the user wrote inside an error message: 'text' in single quotes, at most
// kQuoteMaxChars bytes of it followed by "..." when longer, and every byte that is a control
// character or not part of valid UTF-8 written as \xNN, so the message stays one readable line.
inline constexpr std::size_t kQuoteMaxChars = 60;
std::string QuoteForMessage(std::string_view text);

}  // namespace gspo::common

#endif  // GSPO_COMMON_STRINGS_H_
