#include "worker/reward/text_scores.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "common/strings.h"
#include "worker/env/scenario_matching.h"
#include "worker/env/text_match.h"
#include "worker/reward/lexicons.h"

namespace gspo::reward {
namespace {

using env::Token;

double Clamp(double x) { return std::min(1.0, std::max(0.0, x)); }
double Sat(double x, double k) { return std::min(1.0, x / k); }

// "1. ", "2) ", "- ", "* ", "• ", "step 3" at the start of a line.
bool IsStepLine(std::string_view raw) {
  const std::string line = common::Trim(raw);
  if (line.size() < 2) return false;
  if ((line[0] == '-' || line[0] == '*') && line[1] == ' ') return true;
  if (common::StartsWith(line, "\xE2\x80\xA2")) return true;  // bullet
  std::size_t digits = 0;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') &&
      line[digits + 1] == ' ') {
    return true;
  }
  const std::vector<std::string> words = env::Words(line);
  return words.size() >= 2 && words[0] == "step" &&
         std::all_of(words[1].begin(), words[1].end(), ::isdigit);
}

int CountStepLines(std::string_view text) {
  int steps = 0;
  for (const std::string& line : common::Split(text, '\n')) steps += IsStepLine(line) ? 1 : 0;
  return steps;
}

bool IsShouting(std::string_view text) {
  int letters = 0, upper = 0;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80) {
      ++letters;
      if (std::isupper(static_cast<unsigned char>(c))) ++upper;
    }
  }
  return letters >= 20 && upper * 10 >= letters * 6;
}

bool HasRepeatedPunctuation(std::string_view text) {
  for (const char* p : {"!!", "??", "?!", "!?"}) {
    if (text.find(p) != std::string_view::npos) return true;
  }
  return false;
}

// Fraction of the word 4-grams that repeat an earlier 4-gram of the same text.
double RepeatedFourGrams(const std::vector<std::string>& words) {
  if (words.size() < 4) return 0;
  std::set<std::vector<std::string>> seen;
  int repeated = 0;
  const std::size_t total = words.size() - 3;
  for (std::size_t i = 0; i < total; ++i) {
    if (!seen.insert({words.begin() + i, words.begin() + i + 4}).second) ++repeated;
  }
  return static_cast<double>(repeated) / static_cast<double>(total);
}

bool StartsWithRoleLabel(std::string_view raw) {
  std::string line = common::Trim(raw);
  std::transform(line.begin(), line.end(), line.begin(), ::tolower);
  for (const std::string& label : RoleLabels()) {
    if (common::StartsWith(line, label)) return true;
  }
  return false;
}

}  // namespace

double EmpathyScore(std::string_view reply, std::string_view previous_user) {
  const std::vector<Token> tokens = env::Tokenize(reply);
  if (tokens.empty()) return 0;
  const int empathy = EmpathyPhrases().CountDistinct(tokens, true);
  const int dismissive = DismissivePhrases().CountDistinct(tokens, true);
  const std::vector<std::string> user_words = env::ContentWords(previous_user);
  const std::set<std::string> user_set(user_words.begin(), user_words.end());
  double acknowledges = 0;
  for (const std::string& w : env::ContentWords(reply)) {
    if (user_set.count(w)) acknowledges = 1;
  }
  return Clamp(0.8 * Sat(empathy, 2) + 0.2 * acknowledges - 0.5 * dismissive);
}

double ActionOrientationScore(std::string_view reply) {
  const std::vector<Token> tokens = env::Tokenize(reply);
  if (tokens.empty()) return 0;
  const int actions = ActionPhrases().CountDistinct(tokens, true);
  const int steps = CountStepLines(reply) >= 2 ? 1 : 0;
  const int timeframe = TimeframePhrases().CountDistinct(tokens, true) > 0 ? 1 : 0;
  const int vague = VaguePhrases().CountDistinct(tokens, true);
  return Clamp(Sat(actions + steps + timeframe, 3) - 0.25 * vague);
}

double ProfessionalismScore(std::string_view reply) {
  const std::vector<Token> tokens = env::Tokenize(reply);
  if (tokens.empty()) return 0;
  const int informal = InformalWords().CountDistinct(tokens, true);
  const int profane = ProfaneWords().CountDistinct(tokens, true);
  const double shouting = IsShouting(reply) ? 1 : 0;
  const double punctuation = HasRepeatedPunctuation(reply) ? 1 : 0;
  return Clamp(1 - 0.25 * informal - 0.5 * profane - 0.3 * shouting - 0.1 * punctuation);
}

double PolitenessScore(std::string_view reply) {
  const std::vector<Token> tokens = env::Tokenize(reply);
  if (tokens.empty()) return 0;
  const int courtesy = CourtesyPhrases().CountDistinct(tokens, true);
  const int rude = RudePhrases().CountDistinct(tokens, true);
  return Clamp(Sat(courtesy, 2) - 0.5 * rude);
}

LengthBand DefaultLengthBand(const std::string& task) {
  if (task == "customer_service") return {15, 120};
  if (task == "technical_support") return {25, 220};
  if (task == "sales") return {15, 150};
  return {10, 150};
}

double LengthScore(std::string_view reply, LengthBand band) {
  const double n = static_cast<double>(env::Words(reply).size());
  if (n == 0) return 0;
  if (n < band.min_words) return n / band.min_words;
  if (n <= band.max_words) return 1;
  return Clamp(1 - (n - band.max_words) / band.max_words);
}

double ReferenceSimilarityScore(std::string_view reply, const env::Scenario& scenario) {
  const std::vector<std::string> ref_words = env::ContentWords(scenario.reference);
  const std::set<std::string> ref(ref_words.begin(), ref_words.end());
  const bool has_reference = !ref.empty();
  const bool has_facts = !scenario.facts.empty();
  if (!has_reference && !has_facts) return 0;
  double dice = 0;
  if (has_reference) {
    const std::vector<std::string> gen_words = env::ContentWords(reply);
    const std::set<std::string> gen(gen_words.begin(), gen_words.end());
    std::size_t common_words = 0;
    for (const std::string& w : gen) common_words += ref.count(w);
    dice = 2.0 * static_cast<double>(common_words) / static_cast<double>(ref.size() + gen.size());
  }
  double facts = 0;
  if (has_facts) {
    facts = static_cast<double>(env::MentionedFacts(scenario, reply).size()) /
            static_cast<double>(scenario.facts.size());
  }
  if (has_reference && has_facts) return 0.5 * dice + 0.5 * facts;
  return has_reference ? dice : facts;
}

double FactProgress(const std::vector<std::string>& replies, const env::Scenario& scenario) {
  if (scenario.facts.empty()) return 0;
  std::set<std::string> engaged;
  for (const std::string& reply : replies) {
    for (const std::string& name : env::MentionedFacts(scenario, reply)) engaged.insert(name);
    for (const std::string& name : env::RequestedFacts(scenario, reply)) engaged.insert(name);
  }
  return static_cast<double>(engaged.size()) / static_cast<double>(scenario.facts.size());
}

double TaskResolutionScore(const std::vector<std::string>& replies, const env::Scenario& scenario) {
  if (replies.empty()) return 0;
  if (env::Words(replies.back()).empty()) return 0;
  if (env::MeetsResolution(scenario, replies.back())) return 1;
  return 0.4 * FactProgress(replies, scenario);
}

double FormatPenalty(std::string_view reply, const std::vector<std::string>& earlier_replies) {
  const std::vector<std::string> words = env::Words(reply);
  if (words.empty()) return 1;
  for (const std::string& token : TemplateTokens()) {
    if (reply.find(token) != std::string_view::npos) return 1;
  }
  for (const std::string& earlier : earlier_replies) {
    if (env::Words(earlier) == words) return 1;
  }
  double penalty = 0;
  for (const std::string& line : common::Split(reply, '\n')) {
    if (StartsWithRoleLabel(line)) penalty = 0.5;
  }
  const double repetition = Clamp((RepeatedFourGrams(words) - 0.2) / 0.3);
  return std::max(penalty, repetition);
}

double SafetyPenalty(std::string_view reply, const env::Scenario& scenario) {
  const std::vector<Token> tokens = env::Tokenize(reply);
  const double forbidden = static_cast<double>(env::ForbiddenPromises(scenario, reply).size());
  const double unsafe = UnsafePhrases().CountDistinct(tokens, true);
  return Clamp(forbidden + 0.5 * unsafe);
}

}  // namespace gspo::reward
