// 64-bit mixers shared by the core's hash tables, sketches and seeded randomness.
#pragma once

#include <cstdint>

namespace crm {

// SplitMix64 finaliser: a bijective 64-bit mixer (Steele, Lea & Flood 2014).
inline std::uint64_t mix64(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Fibonacci hashing: the high bits of x * 2^64/phi spread consecutive and
// strided ids evenly.
inline std::uint64_t fibonacci_mix(std::uint64_t x) { return x * 0x9E3779B97F4A7C15ULL; }

}  // namespace crm
