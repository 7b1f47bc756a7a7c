#include "common/clock.h"

#include <cstdio>
#include <ctime>
#include <thread>

namespace gspo::common {
namespace {

class RealClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  void SleepFor(std::chrono::milliseconds duration) override {
    if (duration.count() > 0) std::this_thread::sleep_for(duration);
  }
};

}  // namespace

Clock& SystemClock() {
  // Leaked so that it stays valid for code running during static destruction.
  static Clock* const clock = new RealClock();
  return *clock;
}

std::string FormatRfc3339Utc(std::chrono::system_clock::time_point time) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  // floor, not duration_cast, so times before 1970 still get milliseconds in [0, 999].
  const auto since_epoch = std::chrono::floor<milliseconds>(time.time_since_epoch());
  const auto whole_seconds = std::chrono::floor<seconds>(since_epoch);
  const int millis = static_cast<int>((since_epoch - whole_seconds).count());

  const std::time_t t = static_cast<std::time_t>(whole_seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace gspo::common
