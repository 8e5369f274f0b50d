// The cohort matrix from one pass, against a brute-force count over sets,
// and the exact decimal sums that stand in for numeric's.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "cohort_matrix.hpp"

namespace {

TEST(Decimal, AddsAsNumericDoesAndPrints) {
    crm::Decimal d;
    EXPECT_EQ(crm::decimal_text(d), "0");
    EXPECT_TRUE(d.add({12345, 2}));       // 123.45
    EXPECT_TRUE(d.add({-5, 3}));          // -0.005
    EXPECT_EQ(crm::decimal_text(d), "123.445");
    EXPECT_TRUE(d.add({7, 0}));
    EXPECT_EQ(crm::decimal_text(d), "130.445");  // the scale stays the larger one
    crm::Decimal small{-5, 4};
    EXPECT_EQ(crm::decimal_text(small), "-0.0005");
    crm::Decimal zero_scaled{0, 2};
    EXPECT_EQ(crm::decimal_text(zero_scaled), "0.00");
    crm::Decimal big{static_cast<__int128>(1) << 120, 0};
    const crm::Decimal before = big;
    EXPECT_FALSE(big.add({1, 5}));  // rescaling 2^120 by 10^5 overflows
    EXPECT_TRUE(big.units == before.units && big.scale == before.scale);
}

TEST(CohortBuilder, MatchesBruteForce) {
    std::mt19937_64 rng(11);
    const std::size_t rows = 50000;
    std::vector<std::int64_t> keys(rows);
    std::vector<std::int32_t> periods(rows);
    std::vector<crm::Decimal> exact(rows);
    std::vector<double> floats(rows);
    for (std::size_t r = 0; r < rows; ++r) {
        keys[r] = static_cast<std::int64_t>(rng() % 3000) - 1500;
        periods[r] = 24000 + static_cast<std::int32_t>(rng() % 30);
        const bool null_amount = rng() % 17 == 0;
        exact[r] = null_amount ? crm::Decimal{} : crm::Decimal{static_cast<__int128>(rng() % 100000), static_cast<int>(rng() % 3)};
        floats[r] = null_amount ? 0.0 : static_cast<double>(rng() % 1000);  // integers: any order sums alike
    }
    // Brute force: first period per customer, distinct (customer, period) per cohort.
    std::map<std::int64_t, std::int32_t> cohort_of;
    std::int32_t last = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        auto [it, inserted] = cohort_of.try_emplace(keys[r], periods[r]);
        if (!inserted) it->second = std::min(it->second, periods[r]);
        last = std::max(last, periods[r]);
    }
    std::map<std::int32_t, std::int64_t> size;
    for (const auto& [k, c] : cohort_of) ++size[c];
    std::map<std::pair<std::int32_t, std::int32_t>, std::set<std::int64_t>> active;
    std::map<std::pair<std::int32_t, std::int32_t>, crm::Decimal> revenue;
    std::map<std::pair<std::int32_t, std::int32_t>, double> revenue_f;
    for (std::size_t r = 0; r < rows; ++r) {
        const auto cell = std::make_pair(cohort_of[keys[r]], periods[r]);
        active[cell].insert(keys[r]);
        ASSERT_TRUE(revenue[cell].add(exact[r]));
        revenue_f[cell] += floats[r];
    }
    for (const crm::RevenueKind kind : {crm::RevenueKind::Exact, crm::RevenueKind::Float, crm::RevenueKind::None}) {
        crm::CohortBuilder b(kind);
        for (std::size_t start = 0; start < rows; start += 1000)
            ASSERT_TRUE(b.add_batch(&keys[start], &periods[start], &exact[start], &floats[start], 1000));
        std::vector<crm::CohortCell> cells;
        ASSERT_TRUE(b.build(cells, 1u << 20));
        std::size_t expected_cells = 0;
        for (const auto& [c, n] : size) expected_cells += static_cast<std::size_t>(last - c + 1);
        ASSERT_EQ(cells.size(), expected_cells);
        std::size_t i = 0;
        for (const auto& [c, n] : size) {
            for (std::int32_t p = c; p <= last; ++p, ++i) {
                const crm::CohortCell& cell = cells[i];
                ASSERT_EQ(cell.cohort, c);
                ASSERT_EQ(cell.period, p);
                EXPECT_EQ(cell.customers, n);
                const auto key = std::make_pair(c, p);
                const auto a = active.find(key);
                EXPECT_EQ(cell.active, a == active.end() ? 0 : static_cast<std::int64_t>(a->second.size()));
                if (kind == crm::RevenueKind::Exact) {
                    const auto rv = revenue.find(key);
                    const std::string expected = rv == revenue.end() ? "0" : crm::decimal_text(rv->second);
                    EXPECT_EQ(crm::decimal_text(cell.revenue_exact), expected);
                }
                if (kind == crm::RevenueKind::Float) {
                    const auto rv = revenue_f.find(key);
                    EXPECT_EQ(cell.revenue_float, rv == revenue_f.end() ? 0.0 : rv->second);
                }
            }
        }
        std::vector<crm::CohortCell> capped;
        EXPECT_FALSE(b.build(capped, expected_cells - 1));  // over the cell limit: the caller falls back
    }
}

TEST(CohortBuilder, EmptyAndOverflow) {
    crm::CohortBuilder empty(crm::RevenueKind::Exact);
    std::vector<crm::CohortCell> cells;
    EXPECT_TRUE(empty.build(cells, 10));
    EXPECT_TRUE(cells.empty());
    crm::CohortBuilder b(crm::RevenueKind::Exact);
    const std::int64_t keys[2] = {1, 1};
    const std::int32_t periods[2] = {5, 5};
    const crm::Decimal amounts[2] = {{static_cast<__int128>(1) << 126, 0}, {static_cast<__int128>(1) << 126, 0}};  // 2^127 overflows
    EXPECT_FALSE(b.add_batch(keys, periods, amounts, nullptr, 2));
}

}  // namespace
