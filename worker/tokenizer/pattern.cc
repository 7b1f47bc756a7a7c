#include "worker/tokenizer/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "common/strings.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

// Oniguruma's \s for UTF-8 text: the White_Space property.
constexpr std::string_view kSpaceClassBody =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

// Rewrites \s and \S (outside character classes also \S) to Oniguruma's whitespace set.
std::string TranslatePattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  std::size_t i = 0;
  const std::size_t n = pattern.size();
  while (i < n) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < n) {
      const char d = pattern[i + 1];
      if (d == 's') {
        if (in_class) {
          out.append(kSpaceClassBody);
        } else {
          out.append("[").append(kSpaceClassBody).append("]");
        }
      } else if (d == 'S' && !in_class) {
        out.append("[^").append(kSpaceClassBody).append("]");
      } else {
        out.push_back(c);
        out.push_back(d);
      }
      i += 2;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      ++i;
      if (i < n && pattern[i] == '^') out.push_back(pattern[i++]);
      if (i < n && pattern[i] == ']') out.push_back(pattern[i++]);  // a literal ']'
      continue;
    }
    if (in_class && c == '[' && i + 1 < n && pattern[i + 1] == ':') {
      const std::size_t close = pattern.find(":]", i + 2);
      if (close != std::string_view::npos) {
        out.append(pattern.substr(i, close + 2 - i));
        i = close + 2;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
    ++i;
  }
  return out;
}

// Per-thread PCRE2 match state, shared by all regexes.
struct MatchState {
  MatchState() {
    data = pcre2_match_data_create(16, nullptr);
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(std::size_t{32} << 10, std::size_t{4} << 20, nullptr);
    if (context != nullptr && jit_stack != nullptr) {
      pcre2_jit_stack_assign(context, nullptr, jit_stack);
    }
  }
  ~MatchState() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
  }
  pcre2_match_data* data;
  pcre2_match_context* context;
  pcre2_jit_stack* jit_stack;
};

MatchState& ThreadMatchState() {
  thread_local MatchState state;
  return state;
}

}  // namespace

common::StatusOr<std::shared_ptr<const Regex>> Regex::Compile(std::string_view pattern) {
  const std::string translated = TranslatePattern(pattern);
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &error_code, &error_offset, context);
  pcre2_compile_context_free(context);
  if (code == nullptr) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(error_code, buffer, sizeof(buffer));
    // Report the offset in the pattern as written: translation only grows \s and \S, so
    // map back by re-translating prefixes.
    std::size_t original_offset = 0;
    while (original_offset < pattern.size() &&
           TranslatePattern(pattern.substr(0, original_offset + 1)).size() <= error_offset) {
      ++original_offset;
    }
    return common::InvalidArgumentError("bad regex " + common::QuoteForMessage(pattern) + ": " +
                                        reinterpret_cast<const char*>(buffer) + " at offset " +
                                        std::to_string(original_offset));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // Falls back to the interpreter on failure.
  std::shared_ptr<Regex> regex(new Regex());
  regex->code_ = code;
  return std::shared_ptr<const Regex>(std::move(regex));
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::FindAll(std::string_view text,
                    std::vector<std::pair<std::size_t, std::size_t>>* out) const {
  MatchState& state = ThreadMatchState();
  const auto* code = static_cast<const pcre2_code*>(code_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const std::size_t n = text.size();
  std::size_t last_end = 0;
  bool have_last = false;
  std::size_t last_match_end = 0;
  while (last_end <= n) {
    int rc = pcre2_match(code, subject, n, last_end, PCRE2_NO_UTF_CHECK, state.data, state.context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, subject, n, last_end, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, state.data,
                       state.context);
    }
    if (rc < 0) break;  // No match (or a resource limit: treat the rest as unmatched).
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    const std::size_t start = ovector[0];
    const std::size_t end = ovector[1];
    if (start == end && have_last && last_match_end == end) {
      last_end += last_end < n ? Utf8Length(static_cast<unsigned char>(text[last_end])) : 1;
      continue;
    }
    last_end = end;
    last_match_end = end;
    have_last = true;
    out->emplace_back(start, end);
  }
}

Pattern Pattern::Literal(std::string literal) {
  Pattern pattern;
  pattern.kind_ = Kind::kLiteral;
  pattern.literal_ = std::move(literal);
  return pattern;
}

Pattern Pattern::FromRegex(std::shared_ptr<const Regex> regex) {
  Pattern pattern;
  pattern.kind_ = Kind::kRegex;
  pattern.regex_ = std::move(regex);
  return pattern;
}

Pattern Pattern::Char(char32_t ch) {
  Pattern pattern;
  pattern.kind_ = Kind::kChar;
  pattern.char_ = ch;
  return pattern;
}

Pattern Pattern::Predicate(bool (*predicate)(char32_t)) {
  Pattern pattern;
  pattern.kind_ = Kind::kChar;
  pattern.predicate_ = predicate;
  return pattern;
}

void Pattern::FindRanges(std::string_view text,
                         std::vector<std::pair<std::size_t, std::size_t>>* ranges) const {
  switch (kind_) {
    case Kind::kRegex:
      regex_->FindAll(text, ranges);
      return;
    case Kind::kLiteral: {
      if (literal_.empty()) {  // An empty regex matches at every character boundary.
        std::size_t i = 0;
        while (true) {
          ranges->emplace_back(i, i);
          if (i >= text.size()) break;
          i += Utf8Length(static_cast<unsigned char>(text[i]));
        }
        return;
      }
      std::size_t pos = 0;
      while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
        ranges->emplace_back(pos, pos + literal_.size());
        pos += literal_.size();
      }
      return;
    }
    case Kind::kChar: {
      std::size_t i = 0;
      while (i < text.size()) {
        const std::size_t start = i;
        const char32_t cp = NextChar(text, &i);
        if (predicate_ != nullptr ? predicate_(cp) : cp == char_) ranges->emplace_back(start, i);
      }
      return;
    }
  }
}

void Pattern::FindMatches(std::string_view text, std::vector<Span>* out) const {
  out->clear();
  if (text.empty()) {
    out->push_back({0, 0, false});
    return;
  }
  thread_local std::vector<std::pair<std::size_t, std::size_t>> ranges;
  ranges.clear();
  FindRanges(text, &ranges);
  std::size_t prev = 0;
  for (const auto& [start, end] : ranges) {
    if (prev != start) out->push_back({prev, start, false});
    out->push_back({start, end, true});
    prev = end;
  }
  if (prev != text.size()) out->push_back({prev, text.size(), false});
}

bool ParseSplitBehavior(std::string_view name, SplitBehavior* behavior) {
  if (name == "Removed") {
    *behavior = SplitBehavior::kRemoved;
  } else if (name == "Isolated") {
    *behavior = SplitBehavior::kIsolated;
  } else if (name == "MergedWithPrevious") {
    *behavior = SplitBehavior::kMergedWithPrevious;
  } else if (name == "MergedWithNext") {
    *behavior = SplitBehavior::kMergedWithNext;
  } else if (name == "Contiguous") {
    *behavior = SplitBehavior::kContiguous;
  } else {
    return false;
  }
  return true;
}

void ApplySplitBehavior(const std::vector<Span>& spans, SplitBehavior behavior, bool invert,
                        std::vector<std::pair<std::size_t, std::size_t>>* out) {
  out->clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Span& span : spans) out->emplace_back(span.start, span.end);
      return;
    case SplitBehavior::kRemoved:
      for (const Span& span : spans) {
        if (span.is_match == invert) out->emplace_back(span.start, span.end);
      }
      return;
    case SplitBehavior::kContiguous:
      for (const Span& span : spans) {
        const bool is_match = span.is_match != invert;
        if (is_match == previous_match && !out->empty()) {
          out->back().second = span.end;
        } else {
          out->emplace_back(span.start, span.end);
        }
        previous_match = is_match;
      }
      return;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& span : spans) {
        const bool is_match = span.is_match != invert;
        if (is_match && !previous_match && !out->empty()) {
          out->back().second = span.end;
        } else {
          out->emplace_back(span.start, span.end);
        }
        previous_match = is_match;
      }
      return;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        const bool is_match = it->is_match != invert;
        if (is_match && !previous_match && !out->empty()) {
          out->back().first = it->start;
        } else {
          out->emplace_back(it->start, it->end);
        }
        previous_match = is_match;
      }
      std::reverse(out->begin(), out->end());
      return;
  }
}

}  // namespace gspo::tokenizer
