// Clock: the one source of wall time, monotonic time and sleeping, so tests can substitute a fake.
//
// Implementations must be thread-safe. SystemClock() returns a process-wide instance that is
// never destroyed; callers that take a Clock& or Clock* do not own it.
#ifndef GSPO_COMMON_CLOCK_H_
#define GSPO_COMMON_CLOCK_H_

#include <chrono>
#include <string>

namespace gspo::common {

class Clock {
 public:
  virtual ~Clock() = default;

  // Wall time, for timestamps shown to people and stored in records.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for deadlines and measuring durations.
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
  virtual void SleepFor(std::chrono::milliseconds duration) = 0;
};

// The real clock, backed by std::chrono and std::this_thread.
Clock& SystemClock();

// "2026-11-30T01:23:45.123Z": UTC, milliseconds (truncated towards the past), trailing Z.
std::string FormatRfc3339Utc(std::chrono::system_clock::time_point time);

}  // namespace gspo::common

#endif  // GSPO_COMMON_CLOCK_H_
