// The trajectory wire format: a packet survives encoding, a corrupt or cut one is kDataLoss, and
// ExchangeRolloutPackets hands every rollout rank's packet to every rank of a Gloo world (three
// ranks in three threads: two rollout ranks and a learner).
#include "worker/runner/trajectory_wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "tests/fakes/temp_dir.h"
#include "worker/engine/dist/gloo_communicator.h"

namespace gspo::runner {
namespace {

using ::testing::HasSubstr;

RolloutPacket Example(std::int64_t step, std::int64_t first_group) {
  RolloutPacket p;
  p.step = step;
  for (std::int64_t s = 0; s < 2; ++s) {
    Trajectory t;
    t.group = first_group;
    t.sample = s;
    t.policy_version = step - 1;
    t.ids = {5, 70000 + static_cast<std::int32_t>(s), -1};
    t.assistant_mask = {0, 1, 1};
    // Bit patterns a float-valued transport could alter: NaN, -0, a denormal.
    t.logp = {0.0f, std::numeric_limits<float>::quiet_NaN(), -0.0f};
    if (s == 1) t.logp = {0.0f, -1.25f, std::numeric_limits<float>::denorm_min()};
    t.reward = 0.1 + s;
    t.components = {{"empathy", 0.5}, {"resolution", 1.0 / 3}};
    t.turns = 2;
    p.trajectories.push_back(t);
  }
  p.stats = {{"seconds_rollout", 1.5}, {"tokens_generated", 42}};
  p.first_scenario = "billing-refund";
  p.first_transcript = {{"user", "hé\nllo"}, {"assistant", std::string("a\0b", 3)}};
  return p;
}

void ExpectSame(const RolloutPacket& a, const RolloutPacket& b) {
  EXPECT_EQ(EncodeRolloutPacket(a), EncodeRolloutPacket(b));  // bit for bit
  ASSERT_EQ(a.trajectories.size(), b.trajectories.size());
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.trajectories.back().ids, b.trajectories.back().ids);
  EXPECT_EQ(a.trajectories.back().reward, b.trajectories.back().reward);
  EXPECT_EQ(a.trajectories[0].components, b.trajectories[0].components);
  EXPECT_EQ(a.stats, b.stats);
  EXPECT_EQ(a.first_transcript, b.first_transcript);
}

TEST(TrajectoryWire, APacketSurvivesEncoding) {
  const RolloutPacket p = Example(3, 4);
  auto decoded = DecodeRolloutPacket(EncodeRolloutPacket(p));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSame(p, *decoded);
  EXPECT_TRUE(std::isnan(decoded->trajectories[0].logp[1]));
  EXPECT_TRUE(std::signbit(decoded->trajectories[0].logp[2]));
  EXPECT_EQ(decoded->trajectories[1].logp[2], std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(decoded->trajectories[0].policy_version, 2);
  EXPECT_EQ(decoded->first_scenario, "billing-refund");
}

TEST(TrajectoryWire, CorruptPacketsAreDataLoss) {
  const std::string bytes = EncodeRolloutPacket(Example(1, 0));
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{40}, bytes.size() - 1}) {
    auto r = DecodeRolloutPacket(std::string_view(bytes).substr(0, cut));
    EXPECT_EQ(r.status().code(), common::StatusCode::kDataLoss) << "cut at " << cut;
  }
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_THAT(DecodeRolloutPacket(bad_magic).status().message(), HasSubstr("bad magic"));
  EXPECT_THAT(DecodeRolloutPacket(bytes + "z").status().message(), HasSubstr("trailing bytes"));
  // A trajectory count far beyond the bytes left is refused before allocating.
  std::string huge = bytes;
  const std::uint64_t count = std::uint64_t{1} << 60;
  huge.replace(16, 8, reinterpret_cast<const char*>(&count), 8);
  EXPECT_EQ(DecodeRolloutPacket(huge).status().code(), common::StatusCode::kDataLoss);
  // Mask and ids of different lengths.
  RolloutPacket uneven = Example(1, 0);
  uneven.trajectories[0].assistant_mask.pop_back();
  EXPECT_THAT(DecodeRolloutPacket(EncodeRolloutPacket(uneven)).status().message(),
              HasSubstr("differ in length"));
}

TEST(TrajectoryWire, ExchangeHandsEveryRolloutPacketToEveryRank) {
  gspo::testing::ScopedTempDir dir;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 3; ++rank) {
    threads.emplace_back([&, rank] {
      engine::GlooOptions o;
      o.store_path = dir.Join("store");
      o.rank = rank;
      o.world_size = 3;
      o.timeout = std::chrono::seconds(30);
      auto world = engine::CreateGlooCommunicator(o);
      ASSERT_TRUE(world.ok()) << world.status();
      for (std::int64_t step = 0; step < 2; ++step) {
        // Rollout rank r sends groups starting at 10 r; rank 2 (a learner) sends nothing.
        RolloutPacket mine = Example(step, 10 * rank);
        if (rank == 1) mine.trajectories.pop_back();  // packets may differ in size
        auto packets = ExchangeRolloutPackets(**world, 2, rank < 2 ? &mine : nullptr);
        ASSERT_TRUE(packets.ok()) << packets.status();
        ASSERT_EQ(packets->size(), 2u);
        RolloutPacket expected1 = Example(step, 10);
        expected1.trajectories.pop_back();
        ExpectSame((*packets)[0], Example(step, 0));
        ExpectSame((*packets)[1], expected1);
      }
      RolloutPacket stray = Example(0, 0);
      EXPECT_EQ(ExchangeRolloutPackets(**world, 2, rank < 2 ? nullptr : &stray).status().code(),
                common::StatusCode::kInvalidArgument);
    });
  }
  for (std::thread& t : threads) t.join();
}

TEST(TrajectoryWire, BroadcastBytesOnOneRankKeepsThem) {
  engine::SingleRankCommunicator one;
  std::string bytes = "abcde";
  ASSERT_TRUE(BroadcastBytes(one, 0, &bytes).ok());
  EXPECT_EQ(bytes, "abcde");
}

}  // namespace
}  // namespace gspo::runner
