// Per-customer totals of an orders table: the latest order time, the number
// of orders and the sum of their amounts, keyed by an integer customer key.
//
// This is the GROUP BY that RFM analysis starts from, done in one flat hash
// index (flat_index.hpp) instead of PostgreSQL's generic hash aggregate: rows
// arrive in batches, and the slots of the rows a few ahead are prefetched, so
// the cache misses of a large customer table overlap instead of queueing.
// Times are plain integers in whatever unit the caller uses (days,
// microseconds); the table only keeps their maximum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "flat_index.hpp"

namespace crm {

class CustomerTotals {
public:
    // Adds n order rows. Amounts are summed in row order (as a serial
    // SQL aggregate would), so a customer's sum does not depend on batching.
    void add_batch(const std::int64_t* keys, const std::int64_t* times, const double* amounts, std::size_t n);

    std::size_t size() const { return last_.size(); }
    // Customers in the order they were first seen, or in key order after sort_by_key().
    const std::vector<std::int64_t>& keys() const { return sealed_ ? sorted_keys_ : index_.keys(); }
    const std::vector<std::int64_t>& last_times() const { return last_; }
    const std::vector<std::int64_t>& counts() const { return count_; }
    const std::vector<double>& sums() const { return sum_; }

    // Reorders the customers by key (ascending); no rows can be added afterwards.
    void sort_by_key();

    // What the table holds now (arrays and hash slots), to check against a memory limit.
    std::size_t memory_bytes() const;

private:
    FlatIndex<std::int64_t, Int64KeyHash> index_;  // the keys, numbered in first-seen order
    bool sealed_ = false;
    std::vector<std::int64_t> sorted_keys_;         // after sort_by_key
    std::vector<std::int64_t> last_;
    std::vector<std::int64_t> count_;
    std::vector<double> sum_;
};

}  // namespace crm
