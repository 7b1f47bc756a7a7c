// FakeClock: a Clock for tests whose time moves only when told to.
//
// Advance() moves both the wall and the monotonic time; SleepFor() advances by the requested
// duration and returns at once, recording it. Thread-safe; not copyable.
#ifndef GSPO_TESTS_FAKES_FAKE_CLOCK_H_
#define GSPO_TESTS_FAKES_FAKE_CLOCK_H_

#include <chrono>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace gspo::testing {

class FakeClock final : public common::Clock {
 public:
  // 2026-01-01T00:00:00Z: a fixed start makes formatted timestamps in tests predictable.
  static constexpr std::chrono::system_clock::time_point kDefaultStart{
      std::chrono::seconds(1767225600)};

  FakeClock() : FakeClock(kDefaultStart) {}
  explicit FakeClock(std::chrono::system_clock::time_point start);
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  std::chrono::system_clock::time_point Now() const override;
  std::chrono::steady_clock::time_point SteadyNow() const override;
  void SleepFor(std::chrono::milliseconds duration) override;

  // Negative durations are ignored: monotonic time never goes back.
  void Advance(std::chrono::nanoseconds duration);
  // Moves the wall time only, as when the system clock is adjusted.
  void SetNow(std::chrono::system_clock::time_point now);

  // Every SleepFor duration so far, in call order.
  std::vector<std::chrono::milliseconds> sleeps() const;
  std::chrono::milliseconds total_slept() const;

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point now_;
  std::chrono::steady_clock::time_point steady_now_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace gspo::testing

#endif  // GSPO_TESTS_FAKES_FAKE_CLOCK_H_
