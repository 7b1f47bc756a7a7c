#include "common/strings.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gspo::common {
namespace {

TEST(EditDistanceTest, Table) {
  struct Case {
    const char* a;
    const char* b;
    std::size_t distance;
  };
  for (const Case& c : std::vector<Case>{
           {"", "", 0},
           {"", "abc", 3},
           {"abc", "", 3},
           {"gspo", "gspo", 0},
           {"gpso", "gspo", 1},  // adjacent swap
           {"ab", "ba", 1},
           {"kitten", "sitting", 3},
           {"flaw", "lawn", 2},
           {"learning_rate", "learnign_rate", 1},
           {"ca", "abc", 3},  // restricted: no edits inside a swapped pair
           {"max_steps", "max_step", 1},
           {"abc", "xyz", 3},
       }) {
    EXPECT_EQ(EditDistance(c.a, c.b), c.distance) << c.a << " / " << c.b;
    EXPECT_EQ(EditDistance(c.b, c.a), c.distance) << c.b << " / " << c.a;
  }
}

TEST(ClosestMatchTest, SuggestsNearWords) {
  const std::vector<std::string> keys = {"model", "learning_rate", "max_steps", "group_size"};
  EXPECT_EQ(ClosestMatch("learnig_rate", keys), "learning_rate");
  EXPECT_EQ(ClosestMatch("modle", keys), "model");
  EXPECT_EQ(ClosestMatch("max_step", keys), "max_steps");
  EXPECT_EQ(ClosestMatch("model", keys), "model");
  // Short words allow distance 2.
  EXPECT_EQ(ClosestMatch("lr", std::vector<std::string>{"rl", "learning_rate"}), "rl");
}

TEST(ClosestMatchTest, RefusesFarWords) {
  const std::vector<std::string> keys = {"model", "learning_rate", "max_steps"};
  EXPECT_EQ(ClosestMatch("temperature", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("xyz", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("model", {}), std::nullopt);
  // 12 letters allow distance 4 but not 5.
  EXPECT_EQ(ClosestMatch("abcdefghijkl", {"abcdefghWXYZ"}), "abcdefghWXYZ");
  EXPECT_EQ(ClosestMatch("abcdefghijkl", {"abcdefgVWXYZ"}), std::nullopt);
}

TEST(ClosestMatchTest, TiesGoToTheFirstCandidate) {
  EXPECT_EQ(ClosestMatch("cat", {"bat", "cab", "hat"}), "bat");
  EXPECT_EQ(ClosestMatch("cat", {"cab", "bat"}), "cab");
}

TEST(JoinSplitTest, Join) {
  EXPECT_EQ(Join({}, ", "), "");
  EXPECT_EQ(Join({"a"}, ", "), "a");
  EXPECT_EQ(Join({"debug", "info", "warning"}, ", "), "debug, info, warning");
  EXPECT_EQ(Join({"", ""}, "-"), "-");
}

TEST(JoinSplitTest, Split) {
  EXPECT_EQ(Split("a,b,c", ','), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split(",a,", ','), (std::vector<std::string>{"", "a", ""}));
  EXPECT_EQ(Split("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(Split("abc", ','), (std::vector<std::string>{"abc"}));
}

TEST(AffixTest, StartsWithEndsWith) {
  EXPECT_TRUE(StartsWith("gspo.yaml", "gspo"));
  EXPECT_TRUE(StartsWith("gspo", ""));
  EXPECT_TRUE(StartsWith("gspo", "gspo"));
  EXPECT_FALSE(StartsWith("gs", "gspo"));
  EXPECT_FALSE(StartsWith("gspo", "spo"));
  EXPECT_TRUE(EndsWith("job.yaml", ".yaml"));
  EXPECT_TRUE(EndsWith("job.yaml", ""));
  EXPECT_FALSE(EndsWith("yaml", "job.yaml"));
  EXPECT_FALSE(EndsWith("job.yml", ".yaml"));
}

TEST(TrimTest, RemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim("\v\fx"), "x");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("none"), "none");
}

TEST(QuoteForMessageTest, QuotesPlainText) {
  EXPECT_EQ(QuoteForMessage("gpso"), "'gpso'");
  EXPECT_EQ(QuoteForMessage(""), "''");
  EXPECT_EQ(QuoteForMessage("it's"), "'it's'");
}

TEST(QuoteForMessageTest, EscapesNonPrintableBytes) {
  EXPECT_EQ(QuoteForMessage("a\nb\tc"), "'a\\x0ab\\x09c'");
  EXPECT_EQ(QuoteForMessage(std::string("nul\0x", 5)), "'nul\\x00x'");
  EXPECT_EQ(QuoteForMessage("\x1b[31mred\x7f"), "'\\x1b[31mred\\x7f'");
  // Valid UTF-8 stays readable; stray bytes do not.
  EXPECT_EQ(QuoteForMessage("caf\xc3\xa9"), "'caf\xc3\xa9'");
  EXPECT_EQ(QuoteForMessage("bad\xff\xc3("), "'bad\\xff\\xc3('");
  EXPECT_EQ(QuoteForMessage("\xed\xa0\x80"), "'\\xed\\xa0\\x80'");  // a UTF-16 surrogate
}

TEST(QuoteForMessageTest, TruncatesLongText) {
  const std::string sixty(60, 'a');
  EXPECT_EQ(QuoteForMessage(sixty), "'" + sixty + "'");
  EXPECT_EQ(QuoteForMessage(sixty + "b"), "'" + sixty + "...'");
  EXPECT_EQ(QuoteForMessage(std::string(500, 'z')), "'" + std::string(60, 'z') + "...'");
  // A character that would straddle the limit is left out whole.
  const std::string fifty_nine(59, 'a');
  EXPECT_EQ(QuoteForMessage(fifty_nine + "\xc3\xa9"), "'" + fifty_nine + "...'");
  EXPECT_EQ(QuoteForMessage(std::string(58, 'a') + "\xc3\xa9"),
            "'" + std::string(58, 'a') + "\xc3\xa9'");
}

}  // namespace
}  // namespace gspo::common
