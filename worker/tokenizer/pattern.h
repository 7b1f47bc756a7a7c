// Patterns that split or rewrite text in tokenizer.json components (Split, Replace, Metaspace...)
// and the split behaviours of Hugging Face's NormalizedString::split.
//
// Regex compiles a pattern written for Oniguruma (what Hugging Face uses) with PCRE2 in UTF + UCP
// mode (JIT-compiled where available). \s and \S are rewritten to Oniguruma's Unicode White_Space
// set, and ^/$ match at line boundaries as in Oniguruma. Matches follow Oniguruma's find_iter: an
// empty match right where the previous match ended is skipped.
//
// Regex and Pattern are immutable after construction and safe to use from many threads (each
// thread keeps its own PCRE2 match data).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gspo::tokenizer {

class Regex {
 public:
  // Errors are "bad regex \"<pattern>\": <PCRE2 message> at offset <n>".
  static common::StatusOr<std::shared_ptr<const Regex>> Compile(std::string_view pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [start, end) byte ranges of all matches in valid UTF-8 `text`, in order.
  void FindAll(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>* out) const;

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*
};

// One piece of a text cut by a pattern: a match or the text between matches.
struct Span {
  std::size_t start;
  std::size_t end;
  bool is_match;
};

class Pattern {
 public:
  enum class Kind { kLiteral, kRegex, kChar };
  Pattern() = default;
  static Pattern Literal(std::string literal);
  static Pattern FromRegex(std::shared_ptr<const Regex> regex);
  // Each occurrence of the character `ch` is one match.
  static Pattern Char(char32_t ch);
  // Each character for which `predicate` is true is one match.
  static Pattern Predicate(bool (*predicate)(char32_t));

  // Covers all of `text` with ordered, contiguous spans (one non-match (0, 0) for empty text).
  void FindMatches(std::string_view text, std::vector<Span>* out) const;

 private:
  void FindRanges(std::string_view text,
                  std::vector<std::pair<std::size_t, std::size_t>>* ranges) const;

  Kind kind_ = Kind::kLiteral;
  std::string literal_;
  std::shared_ptr<const Regex> regex_;
  char32_t char_ = 0;
  bool (*predicate_)(char32_t) = nullptr;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous".
bool ParseSplitBehavior(std::string_view name, SplitBehavior* behavior);

// The [start, end) ranges that Hugging Face's split keeps, given the spans of a pattern (with
// `invert`, matches and non-matches swap roles). Ranges may be empty; callers drop those.
void ApplySplitBehavior(const std::vector<Span>& spans, SplitBehavior behavior, bool invert,
                        std::vector<std::pair<std::size_t, std::size_t>>* out);

}  // namespace gspo::tokenizer
