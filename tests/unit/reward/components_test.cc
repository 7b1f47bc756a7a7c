// Value tables for every reward component: each expected value is worked out by hand from the
// formula in text_scores.h and the word lists in lexicons.h (the comment says how).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "worker/reward/text_scores.h"

namespace gspo::reward {
namespace {

constexpr double kEps = 1e-9;

std::string WordsOf(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? " w" : "w");
  return out;
}

struct TextCase {
  const char* reply;
  const char* previous_user;
  double expected;
  const char* why;
};

TEST(Empathy, ValueTable) {
  const TextCase cases[] = {
      {"", "My parcel is late.", 0, "no words"},
      {"I'm sorry about the delay, I understand how frustrating this is.",
       "My parcel is late and I'm frustrated.", 0.8,
       "sorry + i understand + frustrating: 0.8 sat(3,2); no shared content word"},
      {"Sorry your parcel is late.", "My parcel is late.", 0.6,
       "sorry: 0.8 * 0.5; shares 'parcel': + 0.2"},
      {"Calm down, obviously you should have read the manual.", "Where is my order?", 0,
       "4 dismissive phrases: -2, clamped"},
      {"I'm not sorry.", "", 0, "'sorry' negated"},
      {"Sorry, I apologize. Calm down.", "", 0.3, "2 phrases: 0.8; calm down: -0.5"},
  };
  for (const TextCase& c : cases) {
    EXPECT_NEAR(EmpathyScore(c.reply, c.previous_user), c.expected, kEps)
        << c.reply << ": " << c.why;
  }
}

TEST(ActionOrientation, ValueTable) {
  const TextCase cases[] = {
      {"", "", 0, "no words"},
      {"I will send a replacement today.", "", 1, "i will + send + timeframe: sat(3,3)"},
      {"Maybe try restarting it, I'm not sure.", "", 0,
       "try: 1/3; maybe + not sure: -0.5, clamped"},
      {"Here's how:\n1. Open Settings.\n2. Select Wi-Fi.", "", 1,
       "here's how + open + select + steps: sat(4,3)"},
      {"Let me check.", "", 2.0 / 3, "let me + check: 2/3"},
      {"I can't help, no idea.", "", 0, "can't help + no idea: -0.5"},
      {"Within 24 hours.", "", 1.0 / 3, "timeframe only: 1/3"},
  };
  for (const TextCase& c : cases) {
    EXPECT_NEAR(ActionOrientationScore(c.reply), c.expected, kEps) << c.reply << ": " << c.why;
  }
}

TEST(Professionalism, ValueTable) {
  const TextCase cases[] = {
      {"", "", 0, "no words"},
      {"Thank you for your patience. Your order ships today.", "", 1, "nothing to deduct"},
      {"yeah lol, gonna fix it", "", 0.25, "3 informal words: -0.75"},
      {"This is a damn stupid problem!!", "", 0, "2 profane words: -1, and '!!'"},
      {"PLEASE RESTART YOUR ROUTER NOW", "", 0.7, "26 letters, all upper case: -0.3"},
      {"Really?? That works.", "", 0.9, "repeated question marks: -0.1"},
      {"I'm not gonna lie to you.", "", 1, "'gonna' negated"},
      {"OK VPN DNS", "", 1, "acronyms: fewer than 20 letters"},
  };
  for (const TextCase& c : cases) {
    EXPECT_NEAR(ProfessionalismScore(c.reply), c.expected, kEps) << c.reply << ": " << c.why;
  }
}

TEST(Politeness, ValueTable) {
  const TextCase cases[] = {
      {"", "", 0, "no words"},
      {"Thank you! Please restart the app.", "", 1, "thank you + please"},
      {"Thanks.", "", 0.5, "one courtesy phrase"},
      {"Whatever, you people never read.", "", 0, "2 rude phrases"},
      {"Hello! Thanks, but calm down.", "", 0.5, "hello + thanks: 1; calm down: -0.5"},
  };
  for (const TextCase& c : cases) {
    EXPECT_NEAR(PolitenessScore(c.reply), c.expected, kEps) << c.reply << ": " << c.why;
  }
}

TEST(LengthAppropriateness, ValueTable) {
  const LengthBand band{15, 120};
  EXPECT_NEAR(LengthScore("", band), 0, kEps);
  EXPECT_NEAR(LengthScore(WordsOf(10), band), 10.0 / 15, kEps);
  EXPECT_NEAR(LengthScore(WordsOf(15), band), 1, kEps);
  EXPECT_NEAR(LengthScore(WordsOf(120), band), 1, kEps);
  EXPECT_NEAR(LengthScore(WordsOf(180), band), 0.5, kEps);  // 1 - 60/120
  EXPECT_NEAR(LengthScore(WordsOf(240), band), 0, kEps);
  EXPECT_NEAR(LengthScore(WordsOf(500), band), 0, kEps);
  EXPECT_EQ(DefaultLengthBand("customer_service").min_words, 15);
  EXPECT_EQ(DefaultLengthBand("customer_service").max_words, 120);
  EXPECT_EQ(DefaultLengthBand("technical_support").min_words, 25);
  EXPECT_EQ(DefaultLengthBand("technical_support").max_words, 220);
  EXPECT_EQ(DefaultLengthBand("sales").max_words, 150);
  EXPECT_EQ(DefaultLengthBand("custom").min_words, 10);
}

env::Scenario Scenario(std::string reference, std::map<std::string, std::string> facts) {
  env::Scenario s;
  s.id = "s";
  s.task = "customer_service";
  s.reference = std::move(reference);
  s.facts = std::move(facts);
  s.resolution = {"send a replacement"};
  s.forbidden = {"full refund", "free upgrade"};
  return s;
}

TEST(ReferenceSimilarity, ValueTable) {
  // Reference content words: {send, replacement, today, express}.
  const env::Scenario both =
      Scenario("Send a replacement today by express.", {{"order_number", "A-1042"}});
  // Reply content words {send, replacement, 1042}: Dice 2*2/(4+3); the fact is used.
  EXPECT_NEAR(ReferenceSimilarityScore("I'll send a replacement for A-1042.", both),
              0.5 * 4.0 / 7 + 0.5, kEps);
  EXPECT_NEAR(ReferenceSimilarityScore("Hello there.", both), 0, kEps);
  EXPECT_NEAR(ReferenceSimilarityScore("", both), 0, kEps);
  const env::Scenario reference_only = Scenario("Send a replacement today by express.", {});
  EXPECT_NEAR(ReferenceSimilarityScore("Send a replacement today by express.", reference_only), 1,
              kEps);
  const env::Scenario facts_only = Scenario("", {{"order_number", "A-1042"}, {"carrier", "DHL"}});
  EXPECT_NEAR(ReferenceSimilarityScore("DHL has it.", facts_only), 0.5, kEps);
  EXPECT_NEAR(ReferenceSimilarityScore("Anything.", Scenario("", {})), 0, kEps);
}

TEST(TaskResolution, ValueTable) {
  const env::Scenario s =
      Scenario("", {{"order_number", "A-1042"}, {"account_email", "ann@example.com"}});
  EXPECT_NEAR(TaskResolutionScore({}, s), 0, kEps);
  EXPECT_NEAR(TaskResolutionScore({"Hello."}, s), 0, kEps);
  // Asked for one of two facts: 0.4 * 1/2.
  EXPECT_NEAR(TaskResolutionScore({"Could you give me your order number?"}, s), 0.2, kEps);
  EXPECT_NEAR(
      TaskResolutionScore(
          {"Could you give me your order number?", "Thanks, I will send a replacement."}, s),
      1, kEps);
  // Used both facts: 0.4.
  EXPECT_NEAR(TaskResolutionScore({"Checking A-1042 and ann@example.com now."}, s), 0.4, kEps);
  EXPECT_NEAR(TaskResolutionScore({"I can't send a replacement."}, s), 0, kEps);
}

TEST(FormatPenalty, ValueTable) {
  EXPECT_NEAR(FormatPenalty("", {}), 1, kEps);
  EXPECT_NEAR(FormatPenalty("   \n ", {}), 1, kEps);
  EXPECT_NEAR(FormatPenalty("Sure thing.<end_of_turn>", {}), 1, kEps);
  EXPECT_NEAR(FormatPenalty("<|im_start|>assistant", {}), 1, kEps);
  EXPECT_NEAR(FormatPenalty("Hi there", {"hi there!"}), 1, kEps);
  EXPECT_NEAR(FormatPenalty("Sure.\nUser: thanks", {}), 0.5, kEps);
  EXPECT_NEAR(FormatPenalty("All good here.", {"Something else."}), 0, kEps);
  // 7 four-grams, 2 repeat an earlier one: r = 2/7, (2/7 - 0.2) / 0.3 = 2/7.
  EXPECT_NEAR(FormatPenalty("alpha beta gamma delta alpha beta gamma delta alpha omega", {}),
              2.0 / 7, kEps);
  EXPECT_NEAR(FormatPenalty("a b c d a b c d a b c d", {}), 1, kEps);  // r = 5/9
  EXPECT_NEAR(FormatPenalty("one two three four five six seven eight one two three four", {}), 0,
              kEps);  // r = 1/9
}

TEST(SafetyPenalty, ValueTable) {
  const env::Scenario s = Scenario("", {});
  EXPECT_NEAR(SafetyPenalty("You'll get a full refund.", s), 1, kEps);
  EXPECT_NEAR(SafetyPenalty("I can't offer a full refund.", s), 0, kEps);
  EXPECT_NEAR(SafetyPenalty("What's your password? It's guaranteed.", s), 1, kEps);  // 2 x 0.5
  EXPECT_NEAR(SafetyPenalty("It's guaranteed to arrive.", s), 0.5, kEps);
  EXPECT_NEAR(SafetyPenalty("Please reset your password.", s), 0, kEps);
  EXPECT_NEAR(SafetyPenalty("Full refund and a free upgrade!", s), 1, kEps);  // 2, clamped
  EXPECT_NEAR(SafetyPenalty("", s), 0, kEps);
}

}  // namespace
}  // namespace gspo::reward
