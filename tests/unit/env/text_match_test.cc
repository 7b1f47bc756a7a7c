// Tokens, clauses, negation, sentences, content words and placeholders: the lexical rules every
// simulated-user decision and every reward score is built on.
#include "worker/env/text_match.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gspo::env {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<int> Clauses(const std::string& text) {
  std::vector<int> out;
  for (const Token& t : Tokenize(text)) out.push_back(t.clause);
  return out;
}

TEST(Tokenize, LowerCasesAndSplitsOnPunctuation) {
  EXPECT_THAT(Words("Order A-1042, shipped via DHL!"),
              ElementsAre("order", "a", "1042", "shipped", "via", "dhl"));
  EXPECT_THAT(Words("v2.3.1 and $129.00"), ElementsAre("v2", "3", "1", "and", "129", "00"));
  EXPECT_THAT(Words("ERR_CONN_REFUSED"), ElementsAre("err", "conn", "refused"));
  EXPECT_THAT(Words(""), IsEmpty());
  EXPECT_THAT(Words("  ...  "), IsEmpty());
}

TEST(Tokenize, KeepsApostrophesInsideWordsAndNormalizesCurlyOnes) {
  EXPECT_THAT(Words("I can't, we'll"), ElementsAre("i", "can't", "we'll"));
  EXPECT_THAT(Words("I can\xE2\x80\x99t"), ElementsAre("i", "can't"));
  EXPECT_THAT(Words("'quoted' words'"), ElementsAre("quoted", "words"));
  EXPECT_THAT(Words("caf\xC3\xA9 ok"), ElementsAre("caf\xC3\xA9", "ok"));
}

TEST(Tokenize, ClausesEndAtSentencePunctuationCommasLinesAndBut) {
  EXPECT_THAT(Clauses("No problem, I will help. Sure"), ElementsAre(0, 0, 1, 1, 1, 2));
  EXPECT_THAT(Clauses("Sorry but we can"), ElementsAre(0, 1, 1, 1));
  EXPECT_THAT(Clauses("one\ntwo"), ElementsAre(0, 1));
  // A comma between digits and a point inside a number do not end a clause.
  EXPECT_THAT(Clauses("pay 1,000 or 2.5 now"), ElementsAre(0, 0, 0, 0, 0, 0, 0));
}

TEST(Negation, AWindowOfSixWordsInTheSameClause) {
  const std::vector<std::string> refund = Words("full refund");
  EXPECT_TRUE(ContainsAffirmed(Tokenize("I will issue a full refund"), refund));
  EXPECT_FALSE(ContainsAffirmed(Tokenize("We can't offer a full refund"), refund));
  EXPECT_FALSE(ContainsAffirmed(Tokenize("we are not able to offer you a full refund"), refund));
  EXPECT_TRUE(ContainsAffirmed(Tokenize("I can't find it, so here is a full refund"), refund));
  EXPECT_TRUE(ContainsAffirmed(Tokenize("Sorry but I can offer a full refund"), refund));
  // Seven words back is outside the window.
  EXPECT_TRUE(ContainsAffirmed(Tokenize("not a b c d e f full refund"), refund));
  EXPECT_FALSE(ContainsAffirmed(Tokenize("not a b c d e full refund"), refund));
  // One affirmed occurrence is enough.
  EXPECT_TRUE(
      ContainsAffirmed(Tokenize("no full refund today. I will give a full refund"), refund));
  EXPECT_TRUE(ContainsPhrase(Tokenize("We can't offer a full refund"), refund));
}

TEST(PhraseList, CountsEachPhraseOnce) {
  const PhraseList list({"sorry", "thank you", "please"});
  EXPECT_EQ(list.CountDistinct(Tokenize("Sorry, so sorry. Thank you!"), true), 2);
  EXPECT_EQ(list.CountDistinct(Tokenize("I'm not sorry. Thank you."), true), 1);
  EXPECT_EQ(list.CountDistinct(Tokenize("I'm not sorry. Thank you."), false), 2);
  EXPECT_THAT(list.Matches(Tokenize("please, thank you"), true),
              ElementsAre("thank you", "please"));
}

TEST(Sentences, SplitAfterTerminatorsAndLines) {
  const std::vector<Sentence> s = Sentences("Hi. What is your order number? Thanks!\nBye");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].text, "Hi.");
  EXPECT_FALSE(s[0].question);
  EXPECT_EQ(s[1].text, "What is your order number?");
  EXPECT_TRUE(s[1].question);
  EXPECT_EQ(s[3].text, "Bye");
  EXPECT_EQ(Sentences("Version 2.5 is out").size(), 1u);
}

TEST(ContentWords, DropStopwordsShortWordsAndPlurals) {
  EXPECT_THAT(ContentWords("The orders of your boxes: a status class update is here"),
              ElementsAre("order", "boxe", "status", "class", "update"));
}

TEST(Placeholders, SubstituteKnownNamesOnly) {
  const std::string value = "A-1";
  const auto lookup = [&](const std::string& name) -> const std::string* {
    return name == "order_number" ? &value : nullptr;
  };
  EXPECT_EQ(SubstitutePlaceholders("It's {order_number}, not {other} or {Bad} {}", lookup),
            "It's A-1, not {other} or {Bad} {}");
  EXPECT_THAT(PlaceholderNames("{a} {b_2} {C} {"), ElementsAre("a", "b_2"));
}

}  // namespace
}  // namespace gspo::env
