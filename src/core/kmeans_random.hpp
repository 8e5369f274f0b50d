// Portable randomness of the k-means files: the same seed gives the same
// choices with every standard library (see kmeans.hpp, "Reproducibility").
#pragma once

#include <cstdint>
#include <random>

#include "hash_mix.hpp"

namespace crm {
namespace kmeans_detail {

using crm::mix64;  // hash_mix.hpp

// Uniform integer in [0, bound) from a 64-bit generator. Rejection of the
// 2^64 mod bound lowest outputs keeps it exactly uniform, and unlike
// std::uniform_int_distribution the result is the same on every standard library.
template <class Next>
std::uint64_t uniform_below(Next&& next, std::uint64_t bound) {
    const std::uint64_t reject_below = (0 - bound) % bound;
    for (;;) {
        const std::uint64_t r = next();
        if (r >= reject_below) return r % bound;
    }
}

inline std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
    return uniform_below([&rng] { return rng(); }, bound);
}

// Uniform double in [0, 1) from the top 53 bits (std::generate_canonical is
// implementation-defined in how many calls it makes and how it rounds).
inline double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Generator of start `init` of a fit: distinct, well-mixed seeds per start.
inline std::mt19937_64 start_generator(std::uint64_t seed, int init) {
    return std::mt19937_64(mix64(seed ^ mix64(static_cast<std::uint64_t>(init) + 1)));
}

// Hash of a point's coordinates (-0.0 and 0.0 hash alike).
std::uint64_t hash_point(const double* x, int dims);

}  // namespace kmeans_detail
}  // namespace crm
