// The per-customer hash aggregation behind the direct scan of an orders table,
// checked against std::map and a sequential sum.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "customer_totals.hpp"

namespace {

struct Expected {
    std::int64_t last = 0;
    std::int64_t count = 0;
    double sum = 0;
};

TEST(CustomerTotals, MatchesAMapOverManyGrowthsAndBatchSizes) {
    std::mt19937_64 rng(7);
    // Keys spread over a wide range, negative ones and the extremes included,
    // with repeats so that sums run over many rows.
    std::vector<std::int64_t> pool;
    for (int i = 0; i < 50000; ++i) pool.push_back(static_cast<std::int64_t>(rng()) >> (i % 40));
    pool.push_back(INT64_MIN);
    pool.push_back(INT64_MAX);
    pool.push_back(0);
    const std::size_t rows = 400000;
    std::vector<std::int64_t> keys(rows), times(rows);
    std::vector<double> amounts(rows);
    std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
    std::uniform_int_distribution<std::int64_t> when(-1000, 1000000);
    std::uniform_real_distribution<double> amount(-5, 500);
    for (std::size_t r = 0; r < rows; ++r) {
        keys[r] = pool[pick(rng)];
        times[r] = when(rng);
        amounts[r] = amount(rng);
    }
    std::map<std::int64_t, Expected> expected;
    std::vector<std::int64_t> first_seen;
    for (std::size_t r = 0; r < rows; ++r) {
        auto [it, inserted] = expected.try_emplace(keys[r], Expected{times[r], 0, 0.0});
        if (inserted) first_seen.push_back(keys[r]);
        it->second.last = std::max(it->second.last, times[r]);
        it->second.count += 1;
        it->second.sum += amounts[r];
    }
    for (const std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, rows}) {
        crm::CustomerTotals totals;
        for (std::size_t start = 0; start < rows; start += batch) {
            const std::size_t n = std::min(batch, rows - start);
            totals.add_batch(&keys[start], &times[start], &amounts[start], n);
        }
        ASSERT_EQ(totals.size(), expected.size());
        EXPECT_EQ(totals.keys(), first_seen);  // first-seen order before sorting
        totals.sort_by_key();
        std::size_t i = 0;
        for (const auto& [key, e] : expected) {
            ASSERT_EQ(totals.keys()[i], key);
            EXPECT_EQ(totals.last_times()[i], e.last);
            EXPECT_EQ(totals.counts()[i], e.count);
            EXPECT_EQ(totals.sums()[i], e.sum);  // bit for bit: summed in row order
            ++i;
        }
        EXPECT_GT(totals.memory_bytes(), 0u);
    }
}

TEST(CustomerTotals, EmptyAndAfterSorting) {
    crm::CustomerTotals totals;
    EXPECT_EQ(totals.size(), 0u);
    totals.sort_by_key();
    EXPECT_EQ(totals.size(), 0u);
    const std::int64_t key = 1, time = 2;
    const double amount = 3;
    EXPECT_THROW(totals.add_batch(&key, &time, &amount, 1), std::exception);
}

}  // namespace
