// State of the cold-chain aggregates: the readings of one group plus the
// aggregate's kind and parameters (a limit, a known ambient, an activation
// energy ...), which must be the same on every row. A NULL parameter is stored
// as NaN. Every aggregate shares this state, so a state carries its kind and
// a merge refuses another kind (22023): a time_above limit must never be read
// as a temp_fit ambient.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cold_chain.hpp"

namespace crm {

enum class SeriesKind : std::uint8_t {
    Unknown = 0,  // not yet known (an empty state)
    TempFit = 1,
    TimeAbove = 2,
    TimeBelow = 3,
    MeanKineticTemperature = 4,
    ColdChainStatus = 5,
};

// The kind of a cold-chain aggregate from its name ("temp_fit",
// "time_above_partial", "mean_kinetic_temperature_combine", ...): the
// _partial and _combine forms share their aggregate's kind. Unknown if none.
SeriesKind series_kind_of_aggregate(const std::string& name);
const char* series_kind_name(SeriesKind kind);

class SeriesAccumulator {
public:
    explicit SeriesAccumulator(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : series_(memory) {}
    std::size_t memory_bytes() const { return sizeof(*this) + series_.memory_bytes(); }

    // Sets the kind of an empty state, or checks it (22023 on a mismatch).
    void set_kind(SeriesKind kind);
    SeriesKind kind() const { return kind_; }

    // The first row's parameters are kept; a later row with different ones is
    // an error (22023) naming the parameter by position.
    void set_parameters(const double* parameters, std::size_t n, const char* const* names) {
        // Every row after the first brings the same parameters: compared inline.
        if (has_parameters_ && n <= parameters_.size() &&
            (n == 0 || std::memcmp(parameters, parameters_.data(), n * sizeof(double)) == 0))
            return;
        check_parameters(parameters, n, names);
    }
    void set_parameters(const std::vector<double>& parameters, const char* const* names) {
        set_parameters(parameters.data(), parameters.size(), names);
    }
    const std::vector<double>& parameters() const { return parameters_; }
    bool has_parameters() const { return has_parameters_; }

    ReadingSeries& series() { return series_; }
    const ReadingSeries& series() const { return series_; }

    void merge(const SeriesAccumulator& other);
    std::vector<std::uint8_t> serialize() const;
    // The bytes with another kind: a state PostgreSQL shares between two
    // aggregates with the same inputs carries the first one's kind, and each
    // _partial aggregate stamps its own when it writes the state out.
    std::vector<std::uint8_t> serialize_as(SeriesKind kind) const;
    // The readings are read straight into `memory` (the adapter passes the aggregate's).
    static SeriesAccumulator deserialize(const std::uint8_t* data, std::size_t size,
                                         std::pmr::memory_resource* memory = std::pmr::get_default_resource());

private:
    void check_parameters(const double* parameters, std::size_t n, const char* const* names);

    SeriesKind kind_ = SeriesKind::Unknown;
    bool has_parameters_ = false;
    std::vector<double> parameters_;
    ReadingSeries series_;
};

}  // namespace crm
