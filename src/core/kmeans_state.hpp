// State of the crm.kmeans_fit aggregate: the options (fixed by the first row)
// and the points gathered so far, serialisable for parallel aggregation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kmeans.hpp"

namespace crm {

struct KMeansFitState {
    bool has_options = false;
    KMeansOptions options;
    std::int64_t sample_size = 0;   // 0: keep every point
    std::int64_t skipped_rows = 0;  // rows whose feature array was NULL
    PointSet points;

    explicit KMeansFitState(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : points(0, 0, memory) {}
    std::size_t memory_bytes() const { return sizeof(*this) + points.memory_bytes(); }

    // Sets the options on the first row; a later row with other options is 22023.
    void set_options(const KMeansOptions& o, std::int64_t sample);
    void merge(const KMeansFitState& other);
    std::vector<std::uint8_t> serialize() const;
    static KMeansFitState deserialize(const std::uint8_t* data, std::size_t size);
};

}  // namespace crm
