// Counter-based random draws keyed on (seed, epoch, sample index, stream).
//
// A loader thread never touches a shared generator: every draw for a sample is a pure function of its key, so
// results do not depend on thread timing, on the number of loader threads, or on the number of ranks.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/hash.h"

namespace acm::data {

using hash::splitmix64;

// Named streams keep independent uses of one key apart.
enum class Stream : std::uint64_t { kTransform = 1, kSynthetic = 2, kShuffle = 3, kSubset = 4, kResizedCrop = 5 };

class KeyedRng {
 public:
  KeyedRng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index, Stream stream)
      : state_(splitmix64(splitmix64(splitmix64(seed ^ (static_cast<std::uint64_t>(stream) << 56)) ^ epoch) ^
                          index)) {}

  std::uint64_t next_u64() {
    state_ += 0x9E3779B97F4A7C15ull;
    return splitmix64(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n); n > 0. Multiply-shift: bias below 2^-32 for the sizes used here.
  std::int64_t below(std::int64_t n) {
    return static_cast<std::int64_t>(
        (static_cast<unsigned __int128>(next_u64()) * static_cast<std::uint64_t>(n)) >> 64);
  }
  bool bernoulli(double p) { return uniform() < p; }
  double normal() {  // Box–Muller; one value per call keeps the draw count per sample fixed
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

}  // namespace acm::data
