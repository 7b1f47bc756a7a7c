#include "tests/fakes/fake_clock.h"

namespace gspo::testing {

FakeClock::FakeClock(std::chrono::system_clock::time_point start)
    // Far from zero so code that subtracts an interval from "now" stays in range.
    : now_(start), steady_now_(std::chrono::hours(24)) {}

std::chrono::system_clock::time_point FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

std::chrono::steady_clock::time_point FakeClock::SteadyNow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steady_now_;
}

void FakeClock::SleepFor(std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mu_);
  sleeps_.push_back(duration);
  if (duration.count() <= 0) return;
  now_ += duration;
  steady_now_ += duration;
}

void FakeClock::Advance(std::chrono::nanoseconds duration) {
  if (duration.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  now_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
  steady_now_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration);
}

void FakeClock::SetNow(std::chrono::system_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = now;
}

std::vector<std::chrono::milliseconds> FakeClock::sleeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

std::chrono::milliseconds FakeClock::total_slept() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::chrono::milliseconds total{0};
  for (const auto& sleep : sleeps_) {
    if (sleep.count() > 0) total += sleep;
  }
  return total;
}

}  // namespace gspo::testing
