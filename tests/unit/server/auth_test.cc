// Bearer tokens: constant-time comparison and the checks on token files.
#include "server/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::server {
namespace {

using ::testing::HasSubstr;

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("secret-token-123", "secret-token-123"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-123", "secret-token-124"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-123", "secret-token-12"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-123", "secret-token-1234"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(BearerToken, FromFileTrimsAndChecks) {
  testing::ScopedTempDir dir;
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("good"), "  0123456789abcdef\n").ok());
  auto token = BearerToken::FromFile("--client-token-file", dir.Join("good"));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->token(), "0123456789abcdef");
  EXPECT_TRUE(token->Matches("0123456789abcdef"));
  EXPECT_FALSE(token->Matches("0123456789abcdeF"));

  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("short"), "abc\n").ok());
  EXPECT_THAT(BearerToken::FromFile("--worker-token-file", dir.Join("short")).status().message(),
              HasSubstr("--worker-token-file: " + dir.Join("short") +
                        ": expected a token of at least 16 characters, got 3"));
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("spaces"), "0123456789 abcdef").ok());
  EXPECT_THAT(BearerToken::FromFile("--x", dir.Join("spaces")).status().message(),
              HasSubstr("printable ASCII without spaces"));
  EXPECT_THAT(BearerToken::FromFile("--x", dir.Join("missing")).status().message(),
              HasSubstr("--x: " + dir.Join("missing") + ": no such file"));
}

}  // namespace
}  // namespace gspo::server
