// Counter-based randomness: every random choice (the environment's scenarios and user turns,
// the sampler's per-row draws) is a pure function of the job's seed and the counters that name
// it (step, episode index, turn, row), so a result is the same whichever rank or thread
// produces it and in whatever order.
// Pure inline functions; safe from any thread.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace gspo::common {

// SplitMix64's finalizer: a bijective mix of 64 bits.
inline std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// One 64-bit value from several counters, order-sensitive.
inline std::uint64_t MixSeed(std::initializer_list<std::uint64_t> parts) {
  std::uint64_t h = 0x6A09E667F3BCC909ULL;
  for (std::uint64_t p : parts) h = SplitMix64(h ^ SplitMix64(p));
  return h;
}

// A double in [0, 1) from the top 53 bits.
inline double UnitInterval(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace gspo::common
