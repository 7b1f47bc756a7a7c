#include "common/ranks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gspo::common {
namespace {

using ::testing::HasSubstr;

TEST(Ranks, RanksInsideTheWorldPass) {
  EXPECT_TRUE(CheckRankInWorld(0, 1).ok());
  EXPECT_TRUE(CheckRankInWorld(3, 4).ok());
  EXPECT_TRUE(CheckRootRank("broadcast", 1, 2).ok());
}

TEST(Ranks, OutOfRangeNamesRankAndWorld) {
  EXPECT_THAT(CheckRankInWorld(0, 0).message(), HasSubstr("world size must be at least 1, got 0"));
  EXPECT_THAT(CheckRankInWorld(2, 2).message(), HasSubstr("rank 2 outside a world of 2"));
  EXPECT_THAT(CheckRankInWorld(-1, 2).message(), HasSubstr("rank -1 outside a world of 2"));
  EXPECT_EQ(CheckRankInWorld(2, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(CheckRootRank("broadcast", 1, 1).message(), HasSubstr("broadcast: root rank 1 outside a world of 1"));
  EXPECT_THAT(CheckRootRank("broadcast", -1, 4).message(), HasSubstr("root rank -1 outside a world of 4"));
}

}  // namespace
}  // namespace gspo::common
