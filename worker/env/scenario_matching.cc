#include "worker/env/scenario_matching.h"

#include <map>
#include <set>

#include "worker/env/text_match.h"

namespace gspo::env {
namespace {

const std::set<std::string>& GenericHeads() {
  static const auto* v = new std::set<std::string>{
      "number", "id",   "name",   "date", "code", "address", "type",   "version",
      "model",  "plan", "amount", "time", "size", "level",   "status", "details"};
  return *v;
}

// Words that stand for a fact-name word in a request.
std::vector<std::string> Synonyms(const std::string& word) {
  static const auto* table = new std::map<std::string, std::vector<std::string>>{
      {"number", {"number", "id"}},           {"id", {"id", "number"}},
      {"email", {"email", "mail"}},           {"phone", {"phone", "telephone", "mobile", "cell"}},
      {"zip", {"zip", "postcode", "postal"}}, {"postcode", {"postcode", "zip", "postal"}},
  };
  auto it = table->find(word);
  if (it != table->end()) return it->second;
  return {word};
}

bool SentenceHas(const std::set<std::string>& words, const std::string& key_word) {
  for (const std::string& w : Synonyms(key_word)) {
    if (words.count(w) || words.count(w + "s")) return true;
  }
  return false;
}

bool NamesFact(const std::set<std::string>& words, const std::string& fact_name) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : fact_name + "_") {
    if (c != '_') {
      part += c;
    } else if (!part.empty()) {
      parts.push_back(part);
      part.clear();
    }
  }
  if (parts.empty()) return false;
  const std::string& head = parts.back();
  if (parts.size() == 1) return SentenceHas(words, head);
  std::size_t others = 0;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) others += SentenceHas(words, parts[i]) ? 1 : 0;
  if (SentenceHas(words, head)) return others > 0 || GenericHeads().count(head) == 0;
  return others == parts.size() - 1;
}

}  // namespace

const std::vector<std::string>& GenericResolutionPhrases() {
  static const auto* v = new std::vector<std::string>{
      "has been resolved", "is resolved",      "has been processed", "i've processed",
      "has been issued",   "i've issued",      "is on its way",      "has been shipped",
      "should now work",   "should work now",  "is fixed",           "has been fixed",
      "you're all set",    "has been updated", "has been cancelled", "has been scheduled",
      "has been placed",   "i've placed",      "has been applied",   "i've applied"};
  return *v;
}

const std::vector<std::string>& RequestPhrases() {
  static const auto* v = new std::vector<std::string>{
      "could you",   "can you",        "would you",   "please provide", "please share",
      "please send", "please confirm", "please tell", "please give",    "please let me know",
      "let me know", "may i have",     "can i have",  "could i have",   "i need",
      "i'll need",   "i will need",    "we need",     "tell me"};
  return *v;
}

namespace {

bool MeetsConditionTokens(std::string_view condition, const std::vector<Token>& tokens) {
  std::size_t start = 0;
  bool any_part = false;
  while (start <= condition.size()) {
    std::size_t end = condition.find(" & ", start);
    if (end == std::string_view::npos) end = condition.size();
    const std::vector<std::string> words = Words(condition.substr(start, end - start));
    if (!words.empty()) {
      if (!ContainsAffirmed(tokens, words)) return false;
      any_part = true;
    }
    start = end + 3;
  }
  return any_part;
}

}  // namespace

bool MeetsCondition(std::string_view condition, std::string_view text) {
  return MeetsConditionTokens(condition, Tokenize(text));
}

bool MeetsResolution(const Scenario& scenario, std::string_view text) {
  const std::vector<std::string>& conditions =
      scenario.resolution.empty() ? GenericResolutionPhrases() : scenario.resolution;
  const std::vector<Token> tokens = Tokenize(text);
  for (const std::string& condition : conditions) {
    if (MeetsConditionTokens(condition, tokens)) return true;
  }
  return false;
}

std::vector<std::string> MentionedFacts(const Scenario& scenario, std::string_view text) {
  const std::vector<Token> tokens = Tokenize(text);
  std::vector<std::string> names;
  for (const auto& [name, value] : scenario.facts) {
    if (ContainsPhrase(tokens, Words(value))) names.push_back(name);
  }
  return names;
}

std::vector<std::string> RequestedFacts(const Scenario& scenario, std::string_view text) {
  static const PhraseList* requests = new PhraseList(RequestPhrases());
  std::set<std::string> asked;
  for (const Sentence& sentence : Sentences(text)) {
    const std::vector<Token> tokens = Tokenize(sentence.text);
    if (!sentence.question && requests->CountDistinct(tokens, false) == 0) continue;
    std::set<std::string> words;
    for (const Token& t : tokens) words.insert(t.word);
    for (const auto& [name, value] : scenario.facts) {
      if (NamesFact(words, name)) asked.insert(name);
    }
  }
  return {asked.begin(), asked.end()};
}

std::vector<std::string> ForbiddenPromises(const Scenario& scenario, std::string_view text) {
  const std::vector<Token> tokens = Tokenize(text);
  std::vector<std::string> found;
  for (const std::string& phrase : scenario.forbidden) {
    if (ContainsAffirmed(tokens, Words(phrase))) found.push_back(phrase);
  }
  return found;
}

}  // namespace gspo::env
