// Lexical text matching shared by the simulated user (what did the agent say?) and the reward
// components (which phrases does a reply contain?). No models: words, phrases and a negation
// rule, so that every score can be computed by hand.
//
//   text ─▶ Tokenize ─▶ [{word, clause}, ...] ─▶ ContainsPhrase / ContainsAffirmed / CountDistinct
//
// Tokens: ASCII letters are lower-cased; a word is a run of letters, digits, bytes >= 0x80
// (non-ASCII letters), and apostrophes between them ("can't", curly quotes count as "'").
// Everything else separates words, so "A-1042" is {"a", "1042"} and "v2.3" is {"v2", "3"}.
// Phrases are tokenized the same way, so matching never depends on punctuation or case.
//
// Clauses: a clause ends at '.', '!', '?', ';' or ':' followed by a space or the end, at ','
// unless between digits, at a line break, and before the word "but".
//
// Negation: an occurrence of a phrase is negated when one of the 6 words before it in the same
// clause is a negator (not, no, never, cannot, can't, won't, don't, unable, without, ...), so
// "we can't offer a full refund" does not contain "full refund" affirmed, and "Sorry, but I can
// offer a full refund" does.
//
// Stateless functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gspo::env {

struct Token {
  std::string word;
  int clause = 0;
};

// Words per the rules above, with the index of their clause.
std::vector<Token> Tokenize(std::string_view text);
// Just the words.
std::vector<std::string> Words(std::string_view text);

// A sentence of a text: split after '.', '!' or '?' followed by a space or the end, and at
// line breaks. `question` when it ends with '?'.
struct Sentence {
  std::string text;
  bool question = false;
};
std::vector<Sentence> Sentences(std::string_view text);

bool IsNegator(std::string_view word);
inline constexpr int kNegationWindow = 6;

// Positions (token indices) where the words of `phrase` occur consecutively. An empty phrase
// occurs nowhere.
std::vector<std::size_t> FindPhrase(const std::vector<Token>& tokens,
                                    const std::vector<std::string>& phrase);
bool ContainsPhrase(const std::vector<Token>& tokens, const std::vector<std::string>& phrase);
// True when at least one occurrence is not negated.
bool ContainsAffirmed(const std::vector<Token>& tokens, const std::vector<std::string>& phrase);

// A list of phrases tokenized once, e.g. a reward lexicon.
class PhraseList {
 public:
  PhraseList() = default;
  explicit PhraseList(const std::vector<std::string>& phrases);

  std::size_t size() const { return phrases_.size(); }
  const std::vector<std::string>& texts() const { return texts_; }

  // How many distinct phrases of the list occur in `tokens` (affirmed ones only when
  // `affirmed`); each phrase counts once however often it occurs.
  int CountDistinct(const std::vector<Token>& tokens, bool affirmed) const;
  // The phrases that occur, in list order.
  std::vector<std::string> Matches(const std::vector<Token>& tokens, bool affirmed) const;

 private:
  std::vector<std::string> texts_;
  std::vector<std::vector<std::string>> phrases_;
};

// Words that carry little meaning ("the", "and", "your", ...): left out of content words.
bool IsStopword(std::string_view word);
// Content words: not stopwords, at least 3 characters, with a plural "s" dropped ("orders" ->
// "order"; words ending in "ss", "us" or "is", and words of 3 characters, are kept as they are).
std::vector<std::string> ContentWords(std::string_view text);

// Replaces "{name}" placeholders (name of a-z, 0-9, '_') for which `lookup` returns a value;
// unknown names are left as written. `lookup` returns nullptr for unknown names.
template <typename Lookup>
std::string SubstitutePlaceholders(std::string_view text, Lookup lookup);

// The placeholder names used in `text`, in order of appearance.
std::vector<std::string> PlaceholderNames(std::string_view text);

// ---- implementation of the template ----

bool IsPlaceholderChar(char c);

template <typename Lookup>
std::string SubstitutePlaceholders(std::string_view text, Lookup lookup) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      std::size_t j = i + 1;
      while (j < text.size() && IsPlaceholderChar(text[j])) ++j;
      if (j > i + 1 && j < text.size() && text[j] == '}') {
        const std::string* value = lookup(std::string(text.substr(i + 1, j - i - 1)));
        if (value != nullptr) {
          out += *value;
          i = j;
          continue;
        }
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace gspo::env
