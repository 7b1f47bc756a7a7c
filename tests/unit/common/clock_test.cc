#include "common/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/fakes/fake_clock.h"

namespace gspo::common {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

TEST(FormatRfc3339UtcTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339Utc(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Utc(system_clock::time_point{seconds(1796001825) + milliseconds(123)}),
            "2026-11-30T01:23:45.123Z");
  // Sub-millisecond parts are truncated, not rounded up into the next second.
  EXPECT_EQ(FormatRfc3339Utc(
                system_clock::time_point{seconds(1796001825) + std::chrono::microseconds(999999)}),
            "2026-11-30T01:23:45.999Z");
  // A leap day.
  EXPECT_EQ(FormatRfc3339Utc(system_clock::time_point{seconds(1709208000)}),
            "2024-02-29T12:00:00.000Z");
  // Before the epoch the milliseconds still count forwards within the second.
  EXPECT_EQ(FormatRfc3339Utc(system_clock::time_point{milliseconds(-1)}),
            "1969-12-31T23:59:59.999Z");
}

TEST(SystemClockTest, IsASingletonThatTicks) {
  Clock& clock = SystemClock();
  EXPECT_EQ(&clock, &SystemClock());
  const auto wall = clock.Now();
  EXPECT_GT(wall, system_clock::time_point{seconds(1700000000)});
  const auto start = clock.SteadyNow();
  clock.SleepFor(milliseconds(2));
  EXPECT_GE(clock.SteadyNow() - start, milliseconds(2));
}

TEST(FakeClockTest, StartsAtAFixedTimeAndOnlyMovesWhenTold) {
  gspo::testing::FakeClock clock;
  EXPECT_EQ(FormatRfc3339Utc(clock.Now()), "2026-01-01T00:00:00.000Z");
  const auto wall = clock.Now();
  const auto steady = clock.SteadyNow();
  std::this_thread::sleep_for(milliseconds(2));
  EXPECT_EQ(clock.Now(), wall);
  EXPECT_EQ(clock.SteadyNow(), steady);

  clock.Advance(milliseconds(1500));
  EXPECT_EQ(clock.Now() - wall, milliseconds(1500));
  EXPECT_EQ(clock.SteadyNow() - steady, milliseconds(1500));

  clock.Advance(-hours(1));  // Ignored.
  EXPECT_EQ(clock.SteadyNow() - steady, milliseconds(1500));
}

TEST(FakeClockTest, SleepForAdvancesAndIsRecorded) {
  gspo::testing::FakeClock clock(system_clock::time_point{seconds(100)});
  const auto steady = clock.SteadyNow();
  Clock& as_clock = clock;
  as_clock.SleepFor(milliseconds(250));
  as_clock.SleepFor(milliseconds(0));
  as_clock.SleepFor(seconds(2));
  EXPECT_EQ(clock.Now(), system_clock::time_point{seconds(100) + milliseconds(2250)});
  EXPECT_EQ(clock.SteadyNow() - steady, milliseconds(2250));
  EXPECT_EQ(clock.sleeps(),
            (std::vector<milliseconds>{milliseconds(250), milliseconds(0), milliseconds(2000)}));
  EXPECT_EQ(clock.total_slept(), milliseconds(2250));
}

TEST(FakeClockTest, SetNowMovesWallTimeOnly) {
  gspo::testing::FakeClock clock;
  const auto steady = clock.SteadyNow();
  clock.SetNow(system_clock::time_point{seconds(5)});
  EXPECT_EQ(clock.Now(), system_clock::time_point{seconds(5)});
  EXPECT_EQ(clock.SteadyNow(), steady);
}

TEST(FakeClockTest, IsThreadSafe) {
  gspo::testing::FakeClock clock;
  const auto start = clock.SteadyNow();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) {
        clock.Advance(milliseconds(1));
        clock.SleepFor(milliseconds(1));
        (void)clock.Now();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(clock.SteadyNow() - start, milliseconds(8000));
  EXPECT_EQ(clock.sleeps().size(), 4000u);
}

}  // namespace
}  // namespace gspo::common
