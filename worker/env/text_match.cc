#include "worker/env/text_match.h"

#include <algorithm>
#include <set>

namespace gspo::env {
namespace {

bool IsAsciiAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsWordByte(unsigned char c) { return IsAsciiAlnum(c) || c >= 0x80; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpaceOrEnd(std::string_view s, std::size_t i) {
  return i >= s.size() || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
}

// Curly apostrophes and quotes (U+2018, U+2019) become "'"; other text is kept byte for byte.
std::string NormalizeQuotes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i + 2 < text.size() && static_cast<unsigned char>(text[i]) == 0xE2 &&
        static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) == 0x98 ||
         static_cast<unsigned char>(text[i + 2]) == 0x99)) {
      out += '\'';
      i += 2;
      continue;
    }
    out += text[i];
  }
  return out;
}

bool EndsClause(std::string_view s, std::size_t i) {
  const char c = s[i];
  if (c == '\n') return true;
  if (c == '.' || c == '!' || c == '?' || c == ';' || c == ':') return IsSpaceOrEnd(s, i + 1);
  if (c == ',') return !(i > 0 && IsDigit(s[i - 1]) && i + 1 < s.size() && IsDigit(s[i + 1]));
  return false;
}

const std::set<std::string_view>& Negators() {
  static const auto* words = new std::set<std::string_view>{
      "not",      "no",       "never",   "cannot",  "can't",   "cant",    "won't",
      "wont",     "don't",    "dont",    "doesn't", "doesnt",  "didn't",  "didnt",
      "isn't",    "isnt",     "aren't",  "arent",   "wasn't",  "weren't", "shouldn't",
      "wouldn't", "couldn't", "mustn't", "unable",  "without", "neither", "nor"};
  return *words;
}

const std::set<std::string_view>& Stopwords() {
  static const auto* words = new std::set<std::string_view>{
      "a",      "about", "after", "again", "all",   "also",   "am",     "an",     "and",   "any",
      "are",    "as",    "at",    "be",    "been",  "before", "being",  "but",    "by",    "can",
      "could",  "did",   "do",    "does",  "for",   "from",   "had",    "has",    "have",  "he",
      "her",    "here",  "him",   "his",   "how",   "i",      "i'll",   "i'm",    "i've",  "if",
      "in",     "into",  "is",    "it",    "it's",  "its",    "just",   "let",    "me",    "more",
      "my",     "now",   "of",    "on",    "one",   "or",     "our",    "out",    "over",  "she",
      "should", "so",    "some",  "than",  "that",  "that's", "the",    "their",  "them",  "then",
      "there",  "these", "they",  "this",  "those", "to",     "too",    "up",     "us",    "very",
      "was",    "we",    "we'll", "we're", "were",  "what",   "when",   "where",  "which", "while",
      "who",    "why",   "will",  "with",  "would", "you",    "you'll", "you're", "your",  "yours"};
  return *words;
}

// "class", "status", "this": a final "s" that is not a plural.
bool KeepsFinalS(std::string_view w) {
  const char before = w[w.size() - 2];
  return before == 's' || before == 'u' || before == 'i' || before == '\'';
}

}  // namespace

bool IsPlaceholderChar(char c) { return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '_'; }

std::vector<Token> Tokenize(std::string_view raw) {
  const std::string text = NormalizeQuotes(raw);
  const std::string_view s = text;
  std::vector<Token> tokens;
  tokens.reserve(s.size() / 4 + 1);
  int clause = 0;
  std::string word;
  bool clause_has_words = false;
  const auto flush = [&]() {
    if (word.empty()) return;
    while (!word.empty() && word.back() == '\'') word.pop_back();
    if (word.empty()) return;
    if (word == "but" && clause_has_words) ++clause;
    tokens.push_back({word, clause});
    clause_has_words = true;
    word.clear();
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (IsWordByte(c)) {
      word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
      continue;
    }
    if (c == '\'' && !word.empty() && i + 1 < s.size() &&
        IsWordByte(static_cast<unsigned char>(s[i + 1]))) {
      word += '\'';
      continue;
    }
    flush();
    if (EndsClause(s, i) && clause_has_words) {
      ++clause;
      clause_has_words = false;
    }
  }
  flush();
  return tokens;
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  for (Token& t : Tokenize(text)) words.push_back(std::move(t.word));
  return words;
}

std::vector<Sentence> Sentences(std::string_view text) {
  std::vector<Sentence> out;
  std::string current;
  const auto flush = [&](bool question) {
    std::string trimmed = current;
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\r'))
      trimmed.pop_back();
    std::size_t start = trimmed.find_first_not_of(" \t");
    if (start != std::string::npos) out.push_back({trimmed.substr(start), question});
    current.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      flush(!current.empty() && current.find_last_not_of(" \r") != std::string::npos &&
            current[current.find_last_not_of(" \r")] == '?');
      continue;
    }
    current += c;
    if ((c == '.' || c == '!' || c == '?') && IsSpaceOrEnd(text, i + 1)) flush(c == '?');
  }
  flush(false);
  return out;
}

bool IsNegator(std::string_view word) { return Negators().count(word) > 0; }

std::vector<std::size_t> FindPhrase(const std::vector<Token>& tokens,
                                    const std::vector<std::string>& phrase) {
  std::vector<std::size_t> found;
  if (phrase.empty() || phrase.size() > tokens.size()) return found;
  for (std::size_t i = 0; i + phrase.size() <= tokens.size(); ++i) {
    bool match = true;
    for (std::size_t k = 0; k < phrase.size() && match; ++k) {
      match = tokens[i + k].word == phrase[k];
    }
    if (match) found.push_back(i);
  }
  return found;
}

bool ContainsPhrase(const std::vector<Token>& tokens, const std::vector<std::string>& phrase) {
  return !FindPhrase(tokens, phrase).empty();
}

bool ContainsAffirmed(const std::vector<Token>& tokens, const std::vector<std::string>& phrase) {
  for (std::size_t at : FindPhrase(tokens, phrase)) {
    bool negated = false;
    for (std::size_t back = 1; back <= kNegationWindow && back <= at && !negated; ++back) {
      const Token& before = tokens[at - back];
      if (before.clause != tokens[at].clause) break;
      negated = IsNegator(before.word);
    }
    if (!negated) return true;
  }
  return false;
}

PhraseList::PhraseList(const std::vector<std::string>& phrases) : texts_(phrases) {
  for (const std::string& p : phrases) phrases_.push_back(Words(p));
}

int PhraseList::CountDistinct(const std::vector<Token>& tokens, bool affirmed) const {
  int count = 0;
  for (const auto& phrase : phrases_) {
    if (affirmed ? ContainsAffirmed(tokens, phrase) : ContainsPhrase(tokens, phrase)) ++count;
  }
  return count;
}

std::vector<std::string> PhraseList::Matches(const std::vector<Token>& tokens,
                                             bool affirmed) const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < phrases_.size(); ++i) {
    if (affirmed ? ContainsAffirmed(tokens, phrases_[i]) : ContainsPhrase(tokens, phrases_[i])) {
      out.push_back(texts_[i]);
    }
  }
  return out;
}

bool IsStopword(std::string_view word) { return Stopwords().count(word) > 0; }

std::vector<std::string> ContentWords(std::string_view text) {
  std::vector<std::string> out;
  for (std::string& w : Words(text)) {
    if (w.size() < 3 || IsStopword(w)) continue;
    if (w.size() > 3 && w.back() == 's' && !KeepsFinalS(w)) w.pop_back();
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<std::string> PlaceholderNames(std::string_view text) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    std::size_t j = i + 1;
    while (j < text.size() && IsPlaceholderChar(text[j])) ++j;
    if (j > i + 1 && j < text.size() && text[j] == '}') {
      names.emplace_back(text.substr(i + 1, j - i - 1));
      i = j;
    }
  }
  return names;
}

}  // namespace gspo::env
