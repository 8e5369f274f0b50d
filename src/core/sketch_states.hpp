// States of the approximate-quantile aggregates, built on QuantileSketch:
//   crm.rfm_thresholds_approx  -> RfmSketchAccumulator (three sketches)
//   crm.quantile_approx        -> QuantileApproxAccumulator (one sketch)
// Both have the fixed size of their sketches, so a parallel worker ships a
// few kilobytes to the leader instead of every value.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <vector>

#include "quantile_sketch.hpp"
#include "rfm.hpp"

namespace crm {

struct RfmSketchAccumulator {
    int bins = 0;  // 0 until the first row
    QuantileSketch recency;
    QuantileSketch frequency;
    QuantileSketch monetary;

    explicit RfmSketchAccumulator(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : recency(QuantileSketch::kDefaultK, memory),
          frequency(QuantileSketch::kDefaultK, memory),
          monetary(QuantileSketch::kDefaultK, memory) {}
    std::size_t memory_bytes() const {
        return recency.memory_bytes() + frequency.memory_bytes() + monetary.memory_bytes();
    }

    // bins outside 2..10 or differing from an earlier row's; a non-finite value: InvalidParameter.
    void add(int row_bins, double recency_days, double frequency, double monetary);
    void merge(const RfmSketchAccumulator& other);
    // Approximate type-7 cut points (exact while fewer values than the sketch holds were seen).
    RfmThresholds thresholds() const;

    std::vector<std::uint8_t> serialize() const;
    static RfmSketchAccumulator deserialize(const std::uint8_t* data, std::size_t size,
                                            std::pmr::memory_resource* memory = std::pmr::get_default_resource());
};

struct QuantileApproxAccumulator {
    double fraction = -1.0;  // < 0 until the first row
    QuantileSketch sketch;

    explicit QuantileApproxAccumulator(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : sketch(QuantileSketch::kDefaultK, memory) {}
    std::size_t memory_bytes() const { return sketch.memory_bytes(); }

    // fraction outside [0, 1] or differing from an earlier row's; a non-finite value: InvalidParameter.
    void add(double row_fraction, double value);
    void merge(const QuantileApproxAccumulator& other);
    double result() const { return sketch.quantile(fraction); }

    std::vector<std::uint8_t> serialize() const;
    static QuantileApproxAccumulator deserialize(const std::uint8_t* data, std::size_t size,
                                                 std::pmr::memory_resource* memory = std::pmr::get_default_resource());
};

}  // namespace crm
