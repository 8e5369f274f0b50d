// Aggregate states of the CLV fits: the customers' summaries compressed into
// counts of identical rows, so a fit costs per distinct row, not per customer
// (CDNOW: 2,357 customers, far fewer distinct (x, t_x, T) rows), and states of
// parallel workers or of stored partial aggregates merge by adding counts.
//
// Both states keep their rows in a sorted map: iteration order (and so every
// fit's floating-point sums) is the same whatever order the rows arrived in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <vector>

namespace crm::clv {

// One distinct (x, t_x, T) and how many customers have it.
struct RepeatRow {
    std::int64_t x = 0;
    double t_x = 0.0;
    double T = 0.0;
    std::int64_t count = 0;
};

// State of the BG/NBD and Pareto/NBD fits.
class PurchaseFitState {
public:
    // The map's nodes come from `memory` (the adapter passes a resource over
    // the aggregate's memory context, so PostgreSQL counts them).
    explicit PurchaseFitState(std::pmr::memory_resource* memory = std::pmr::get_default_resource()) : rows_(memory) {}
    // Heap bytes held, about: one map node per distinct row.
    std::size_t memory_bytes() const { return sizeof(*this) + rows_.size() * 64; }

    // Adds `count` customers with this summary. Throws 22023 unless x is a
    // finite integer-valued number >= 0 (at most 2^53), t_x and T are finite,
    // 0 <= t_x <= T, T > 0 (a customer first seen at as_of carries no
    // information: filter T > 0), t_x = 0 when x = 0, and count >= 1.
    void add(double x, double t_x, double T, std::int64_t count = 1);
    void merge(const PurchaseFitState& other);  // 22003 when a count overflows

    std::int64_t customers() const { return customers_; }
    std::size_t distinct_rows() const { return rows_.size(); }
    // The rows in ascending (x, t_x, T) order.
    std::vector<RepeatRow> rows() const;

    std::vector<std::uint8_t> serialize() const;
    // 22P03 for bytes that are not a valid state (truncated, bad rows, counts).
    static PurchaseFitState deserialize(const std::uint8_t* data, std::size_t size);

private:
    struct Key {
        std::int64_t x;
        double t_x;
        double T;
        bool operator<(const Key& o) const {
            if (x != o.x) return x < o.x;
            if (t_x != o.t_x) return t_x < o.t_x;
            return T < o.T;
        }
    };
    void insert(const Key& key, std::int64_t count);

    std::pmr::map<Key, std::int64_t> rows_;
    std::int64_t customers_ = 0;
};

// One distinct (x, mean spend m) of the Gamma-Gamma fit.
struct SpendRow {
    std::int64_t x = 0;
    double m = 0.0;
    std::int64_t count = 0;
};

// State of the Gamma-Gamma fit. Customers with x = 0 have no repeat spend to
// learn from: they are counted in skipped() and otherwise ignored (their m is
// not checked).
class SpendFitState {
public:
    explicit SpendFitState(std::pmr::memory_resource* memory = std::pmr::get_default_resource()) : rows_(memory) {}
    std::size_t memory_bytes() const { return sizeof(*this) + rows_.size() * 64; }

    // Throws 22023 unless x is a finite integer-valued number >= 0 (at most
    // 2^53), count >= 1, and, when x > 0, m is finite and > 0.
    void add(double x, double m, std::int64_t count = 1);
    void merge(const SpendFitState& other);

    std::int64_t customers() const { return customers_; }  // with x > 0
    std::int64_t skipped() const { return skipped_; }      // with x = 0
    std::size_t distinct_rows() const { return rows_.size(); }
    std::vector<SpendRow> rows() const;  // ascending (x, m)

    std::vector<std::uint8_t> serialize() const;
    static SpendFitState deserialize(const std::uint8_t* data, std::size_t size);

private:
    void insert(std::int64_t x, double m, std::int64_t count);

    std::pmr::map<std::pair<std::int64_t, double>, std::int64_t> rows_;
    std::int64_t customers_ = 0;
    std::int64_t skipped_ = 0;
};

}  // namespace crm::clv
