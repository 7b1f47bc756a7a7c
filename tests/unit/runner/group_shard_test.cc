// GroupShard: the worked example of group_shard.h, and for several shapes the property the
// learner relies on: the union over ranks of their local minibatch k is the one-rank minibatch k,
// groups [k P/M, (k+1) P/M), each group owned by exactly one rank.
#include "worker/runner/group_shard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace gspo::runner {
namespace {

std::vector<std::int64_t> GroupsOf(int rank, int world, std::int64_t prompts,
                                   std::int64_t minibatches) {
  auto shard = GroupShard::Create(rank, world, prompts, minibatches);
  EXPECT_TRUE(shard.ok()) << shard.status();
  std::vector<std::int64_t> groups;
  for (std::int64_t i = 0; shard.ok() && i < shard->groups_per_rank(); ++i)
    groups.push_back(shard->GlobalGroup(i));
  return groups;
}

TEST(GroupShard, WorkedExample) {
  EXPECT_EQ(GroupsOf(0, 2, 8, 2), (std::vector<std::int64_t>{0, 1, 4, 5}));
  EXPECT_EQ(GroupsOf(1, 2, 8, 2), (std::vector<std::int64_t>{2, 3, 6, 7}));
  EXPECT_EQ(GroupsOf(0, 1, 3, 2), (std::vector<std::int64_t>{0, 1, 2}));  // one rank: any shape
}

TEST(GroupShard, RanksTogetherHoldEachOneRankMinibatch) {
  struct Shape {
    int world;
    std::int64_t prompts, minibatches;
  };
  for (const Shape s :
       {Shape{2, 4, 1}, Shape{2, 4, 2}, Shape{3, 12, 2}, Shape{4, 16, 4}, Shape{2, 12, 3}}) {
    const std::int64_t per_rank = s.prompts / s.world,
                       local_per_minibatch = per_rank / s.minibatches;
    for (std::int64_t k = 0; k < s.minibatches; ++k) {
      std::multiset<std::int64_t> together;
      for (int r = 0; r < s.world; ++r) {
        const std::vector<std::int64_t> mine = GroupsOf(r, s.world, s.prompts, s.minibatches);
        together.insert(mine.begin() + k * local_per_minibatch,
                        mine.begin() + (k + 1) * local_per_minibatch);
      }
      std::multiset<std::int64_t> expected;
      for (std::int64_t g = k * s.prompts / s.minibatches; g < (k + 1) * s.prompts / s.minibatches;
           ++g)
        expected.insert(g);
      EXPECT_EQ(together, expected)
          << s.world << " ranks, " << s.prompts << " prompts, minibatch " << k;
    }
  }
}

TEST(GroupShard, UnevenShapesAreRefused) {
  auto uneven = GroupShard::Create(0, 2, 6, 2);
  ASSERT_FALSE(uneven.ok());
  EXPECT_EQ(uneven.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_THAT(uneven.status().message(),
              ::testing::HasSubstr("training.prompts_per_step: 6 prompt groups"));
  EXPECT_THAT(uneven.status().message(), ::testing::HasSubstr("use a multiple of 4"));
  EXPECT_FALSE(GroupShard::Create(2, 2, 4, 1).ok());
  EXPECT_FALSE(GroupShard::Create(0, 2, 4, 0).ok());
}

}  // namespace
}  // namespace gspo::runner
