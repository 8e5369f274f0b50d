// State of the cold-chain aggregates: the readings of one group plus the
// aggregate's parameters (a limit, a known ambient, an activation energy ...),
// which must be the same on every row. A NULL parameter is stored as NaN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cold_chain.hpp"

namespace crm {

class SeriesAccumulator {
public:
    // The first row's parameters are kept; a later row with different ones is
    // an error (22023) naming the parameter by position.
    void set_parameters(const std::vector<double>& parameters, const char* const* names);
    const std::vector<double>& parameters() const { return parameters_; }
    bool has_parameters() const { return has_parameters_; }

    ReadingSeries& series() { return series_; }
    const ReadingSeries& series() const { return series_; }

    void merge(const SeriesAccumulator& other);
    std::vector<std::uint8_t> serialize() const;
    static SeriesAccumulator deserialize(const std::uint8_t* data, std::size_t size);

private:
    bool has_parameters_ = false;
    std::vector<double> parameters_;
    ReadingSeries series_;
};

}  // namespace crm
