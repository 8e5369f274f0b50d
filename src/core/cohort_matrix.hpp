// The cohort-retention matrix of an orders table, from one pass over its rows.
//
// Each row is (customer, period, amount), the period an integer index (month,
// quarter or week number: the adapter cuts dates into periods). A customer's
// cohort is the period of their first order. For every cohort and every
// period from the cohort's to the last in the data, the matrix holds the
// cohort's size, how many of its customers ordered in that period and their
// revenue there. Distinct (customer, period) pairs are kept in a flat hash
// index (flat_index.hpp, prefetched a few rows ahead), so the whole matrix
// costs one hash aggregation instead of the distinct counts and join of the
// SQL formulation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "flat_index.hpp"

namespace crm {

// An exact decimal, units x 10^-scale, added as PostgreSQL's numeric adds:
// the scale of a sum is the larger of the two. add() returns false (and
// leaves the value as it was) when the result would not fit.
struct Decimal {
    __int128 units = 0;
    int scale = 0;
    bool add(const Decimal& other);
};

// "-123.45": every digit of units, scale digits after the point.
std::string decimal_text(const Decimal& d);

enum class RevenueKind {
    None,   // no amount column
    Exact,  // numeric or integer amounts, summed exactly
    Float,  // double precision amounts
};

struct CohortCell {
    std::int32_t cohort = 0;  // period index of the cohort
    std::int32_t period = 0;  // period index of this cell, cohort..last
    std::int64_t customers = 0;
    std::int64_t active = 0;
    Decimal revenue_exact;      // RevenueKind::Exact: 0 (scale 0) when no amount was seen
    double revenue_float = 0;   // RevenueKind::Float
};

class CohortBuilder {
public:
    explicit CohortBuilder(RevenueKind kind);

    // n order rows. exact / floats are read according to the kind (either may
    // be null otherwise); a NULL amount is passed as 0 with scale 0 (it adds
    // nothing, as sum() skips it; the row still counts as an order). Returns
    // false when an exact revenue sum would overflow.
    bool add_batch(const std::int64_t* keys, const std::int32_t* periods, const Decimal* exact, const double* floats,
                   std::size_t n);

    // The cells ordered by cohort, then period. False when an exact sum
    // overflows or the matrix would have more than max_cells cells.
    bool build(std::vector<CohortCell>& cells, std::size_t max_cells) const;

    std::size_t pairs() const { return pairs_.size(); }
    std::size_t memory_bytes() const;

private:
    struct PairKey {
        std::int64_t customer;
        std::int32_t period;
        bool operator==(const PairKey& o) const { return customer == o.customer && period == o.period; }
    };
    struct PairKeyHash {
        std::uint64_t operator()(const PairKey& k) const {
            return static_cast<std::uint64_t>(k.customer) ^
                   fibonacci_mix(static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.period)) + 1);
        }
    };

    RevenueKind kind_;
    // One entry per distinct (customer, period), numbered in first-seen order.
    FlatIndex<PairKey, PairKeyHash> pairs_;
    std::vector<Decimal> pair_exact_;
    std::vector<double> pair_float_;
};

}  // namespace crm
