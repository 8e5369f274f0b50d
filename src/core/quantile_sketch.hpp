// Mergeable approximate quantiles in bounded memory: the KLL sketch (Karnin,
// Lang & Liberty, "Optimal Quantile Approximation in Streams", FOCS 2016).
//
// Exact quantiles need every value, so a parallel or sharded aggregate that
// computes them ships every value to one place. The sketch keeps about 3k
// values (k = 200 by default: ~5 KB) however many it has seen, merges with
// another sketch in O(k log k), and answers any quantile with a rank error
// that depends on k only, not on n:
//
//   compactors at levels h = 0, 1, ...; an item at level h stands for 2^h
//   inputs. New values go to level 0. When the sketch holds more than its
//   capacity, the lowest full level is sorted and every other item (the odd
//   or the even ones, by a fair coin) moves up one level with twice the
//   weight; the rest are dropped. Level capacities shrink geometrically
//   (factor 2/3) from k at the top, never below 8.
//
// Until the first compaction every value is kept and the answers are exact
// (identical to crm::quantile_type7). The coin comes from a SplitMix64
// stream seeded with a constant, so the same values added in the same order
// give the same sketch; a parallel plan may merge in another order and give
// another answer within the error bound.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <vector>

#include "byte_io.hpp"

namespace crm {

class QuantileSketch {
public:
    static constexpr int kDefaultK = 200;
    static constexpr int kMinK = 8;
    static constexpr int kMaxK = 65535;

    // k outside kMinK..kMaxK: InvalidParameter.
    explicit QuantileSketch(int k = kDefaultK, std::pmr::memory_resource* memory = std::pmr::get_default_resource());

    // Non-finite x: InvalidParameter.
    void add(double x);
    // Afterwards this sketch summarises both inputs. Sketches of different k
    // merge into the smaller k (the larger error bound of the two).
    void merge(const QuantileSketch& other);

    int k() const { return k_; }
    std::uint64_t count() const { return n_; }
    double min() const { return min_; }
    double max() const { return max_; }
    // True while every value is kept (no compaction yet): answers are exact.
    bool exact() const { return levels_.size() <= 1; }
    std::size_t retained() const { return retained_; }
    std::size_t memory_bytes() const;

    // Approximate type-7 quantile p in [0, 1] of the values seen: the items
    // in sorted order, each repeated by its weight, interpolated as type 7
    // does. p = 0 and p = 1 give the exact minimum and maximum. Empty sketch
    // or p outside [0, 1]: InvalidParameter.
    double quantile(double p) const;
    // The bins - 1 cut points at 1/bins .. (bins-1)/bins, as
    // crm::quantile_cut_points gives for the exact case.
    std::vector<double> cut_points(int bins) const;

    // The normalised rank error that a quantile of a sketch of this k stays
    // within with 99% confidence (both-sided, for all quantiles at once), as
    // measured for KLL with these capacities: 1.65% at k = 200, ~2.5/k^0.94.
    static double rank_error_bound(int k);

    void serialize_into(ByteWriter& w) const;
    // Checks the content (counts, weights, finiteness): InvalidBinary.
    static QuantileSketch read_from(ByteReader& r, std::pmr::memory_resource* memory = std::pmr::get_default_resource());

private:
    using Level = std::pmr::vector<double>;

    std::size_t level_capacity(std::size_t level) const { return capacity_[level]; }
    // Recomputes capacity_ and total_capacity_ after the number of levels changed.
    void add_level();
    void refresh_capacities();
    void compress();
    void compact(std::size_t level);
    // Items with their weights, sorted by value.
    struct Weighted {
        double value;
        std::uint64_t weight;
    };
    std::vector<Weighted> sorted_items() const;

    int k_;
    std::uint64_t n_ = 0;
    double min_ = 0.0;
    double max_ = 0.0;
    std::uint64_t coin_state_;
    std::size_t retained_ = 0;
    std::pmr::vector<Level> levels_;
    // Per-level capacities for the current number of levels (they depend on
    // it), cached: add() is the hot path and must not call pow().
    std::array<std::uint32_t, 64> capacity_{};
    std::size_t total_capacity_ = 0;
};

}  // namespace crm
