// State of the cold-chain aggregates: the readings of one group plus the
// aggregate's kind and parameters (a limit, a known ambient, an activation
// energy ...), which must be the same on every row. A NULL parameter is stored
// as NaN. Every aggregate shares this state, so a state carries its kind and
// a merge refuses another kind (22023): a time_above limit must never be read
// as a temp_fit ambient.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cold_chain.hpp"

namespace crm {

class ReadingBatch;

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
        if (has_parameters_ && n <= parameters_.size() && same_bits(parameters, parameters_.data(), n)) return;
        check_parameters(parameters, n, names);
    }
    void set_parameters(const std::vector<double>& parameters, const char* const* names) {
        set_parameters(parameters.data(), parameters.size(), names);
    }
    const std::vector<double>& parameters() const { return parameters_; }
    bool has_parameters() const { return has_parameters_; }

    ReadingSeries& series() { return series_; }
    const ReadingSeries& series() const { return series_; }

    // The batch that may hold readings of this state not yet added to it (see
    // ReadingBatch); whoever reads the series flushes it first. Not serialised.
    ReadingBatch* batch() const { return batch_.batch; }
    void set_batch(ReadingBatch* batch) { batch_.batch = batch; }

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
    // Bit for bit (NaN, a NULL parameter, equals NaN); a loop the compiler
    // inlines, where memcmp was a library call on every row.
    static bool same_bits(const double* a, const double* b, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t x, y;
            std::memcpy(&x, a + i, sizeof x);
            std::memcpy(&y, b + i, sizeof y);
            if (x != y) return false;
        }
        return true;
    }
    void check_parameters(const double* parameters, std::size_t n, const char* const* names);

    SeriesKind kind_ = SeriesKind::Unknown;
    bool has_parameters_ = false;
    std::vector<double> parameters_;
    ReadingSeries series_;
    // The batch belongs to this object, where it lives: a copy or a moved-to
    // state starts without one (its readings are all in its series), and an
    // assignment keeps the target's own.
    struct BatchLink {
        ReadingBatch* batch = nullptr;
        BatchLink() = default;
        BatchLink(const BatchLink&) {}
        BatchLink& operator=(const BatchLink&) { return *this; }
    };
    BatchLink batch_;
};

// Readings on their way to the states of many groups. Appending each row's
// reading to its group's series at once writes to a different place in memory
// for every row when thousands of groups grow together (a fleet's readings
// arrive interleaved in time), and those scattered writes push the table
// scan's own pages out of the processor's caches: the scan then stalls on
// every tuple. Queued here and added a batch at a time, in one tight pass,
// the same readings cost a fraction (bench/README.md, cold chain). Each
// state receives its readings in the order they were pushed, so the result
// is the same as adding them one by one.
class ReadingBatch {
public:
    static constexpr std::size_t kCapacity = 2048;

    // Queues a reading for `state` (non-finite t or temperature:
    // InvalidParameter, as ReadingSeries::add). True when the batch is full:
    // the caller flushes it then.
    bool push(SeriesAccumulator* state, double t, double temperature) {
        check_reading_finite(t, temperature);
        pending_[size_++] = {state, {t, temperature}};
        return size_ == kCapacity;
    }
    // Adds every queued reading to its state, in queue order, and empties the
    // batch; grew(state) runs after a state took a new block of memory (the
    // adapter checks its memory limit then). Should grew throw, the readings
    // not yet added are dropped with the batch: the statement is failing.
    template <class Grew>
    void flush(Grew&& grew) {
        const std::size_t n = size_;
        size_ = 0;
        for (std::size_t i = 0; i < n; ++i) {
            SeriesAccumulator* state = pending_[i].state;
            if (state->series().add(pending_[i].reading.t, pending_[i].reading.temperature)) grew(*state);
        }
    }
    // Drops the queued readings without adding them (their states are gone).
    void clear() { size_ = 0; }
    bool empty() const { return size_ == 0; }

private:
    struct Pending {
        SeriesAccumulator* state;
        Reading reading;
    };
    std::array<Pending, kCapacity> pending_{};
    std::size_t size_ = 0;
};

}  // namespace crm
