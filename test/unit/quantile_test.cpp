// Quantiles and binning against independent references: R's quantile(type = 7)
// and numpy.quantile(method = 'linear'), and SQL's NTILE.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "errors.hpp"
#include "expect_error.hpp"
#include "quantile.hpp"

namespace {

TEST(Quantile, MatchesRType7) {
    // R: quantile(1:10, c(.2,.4,.6,.8)) -> 2.8 4.6 6.4 8.2
    const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const auto cuts = crm::quantile_cut_points(x, 5);
    ASSERT_EQ(cuts.size(), 4u);
    EXPECT_DOUBLE_EQ(cuts[0], 2.8);
    EXPECT_DOUBLE_EQ(cuts[1], 4.6);
    EXPECT_DOUBLE_EQ(cuts[2], 6.4);
    EXPECT_DOUBLE_EQ(cuts[3], 8.2);
}

// The cut points come from selected order statistics, not a full sort: they
// must be the same bits as quantile_type7 over the sorted column.
TEST(Quantile, SelectionGivesTheSortedColumnsQuantiles) {
    std::mt19937_64 engine(2024);
    for (std::size_t n : {1u, 2u, 3u, 7u, 10u, 11u, 100u, 1001u, 5000u}) {
        for (int distinct : {3, 1000000}) {
            std::vector<double> values(n);
            for (double& v : values) v = static_cast<double>(engine() % static_cast<std::uint64_t>(distinct)) * 0.37 - 50;
            std::vector<double> sorted = values;
            std::sort(sorted.begin(), sorted.end());
            for (int bins = 2; bins <= 10; ++bins) {
                const auto cuts = crm::quantile_cut_points(values, bins);
                ASSERT_EQ(cuts.size(), static_cast<std::size_t>(bins - 1));
                for (int j = 1; j < bins; ++j) {
                    const double expected = crm::quantile_type7(sorted, static_cast<double>(j) / bins);
                    EXPECT_EQ(std::memcmp(&cuts[j - 1], &expected, sizeof expected), 0)
                        << "n " << n << " bins " << bins << " cut " << j;
                }
            }
        }
    }
}

TEST(Quantile, UnsortedInputAndEnds) {
    // numpy.quantile([7, 1, 3], [0, .5, 1]) -> 1, 3, 7; 0.25 -> 2.0
    const std::vector<double> sorted = {1, 3, 7};
    EXPECT_DOUBLE_EQ(crm::quantile_type7(sorted, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(crm::quantile_type7(sorted, 0.5), 3.0);
    EXPECT_DOUBLE_EQ(crm::quantile_type7(sorted, 1.0), 7.0);
    EXPECT_DOUBLE_EQ(crm::quantile_type7(sorted, 0.25), 2.0);
    const auto cuts = crm::quantile_cut_points({7, 1, 3}, 2);
    ASSERT_EQ(cuts.size(), 1u);
    EXPECT_DOUBLE_EQ(cuts[0], 3.0);
}

TEST(Quantile, SingleValue) {
    const auto cuts = crm::quantile_cut_points({42}, 5);
    EXPECT_EQ(cuts, std::vector<double>(4, 42.0));
}

TEST(Quantile, RejectsBadArguments) {
    EXPECT_ERROR_KIND(crm::quantile_type7({}, 0.5), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::quantile_type7({1.0}, 1.5), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::quantile_cut_points({1.0}, 1), crm::ErrorKind::InvalidParameter);
    EXPECT_TRUE(crm::quantile_cut_points({}, 5).empty());
}

TEST(Binning, RightClosedIntervals) {
    const std::vector<double> cuts = {2.8, 4.6, 6.4, 8.2};
    EXPECT_EQ(crm::bin_of(1, cuts), 1);
    EXPECT_EQ(crm::bin_of(2.8, cuts), 1);  // right-closed: the cut point belongs to the lower bin
    EXPECT_EQ(crm::bin_of(2.81, cuts), 2);
    EXPECT_EQ(crm::bin_of(8.2, cuts), 4);
    EXPECT_EQ(crm::bin_of(100, cuts), 5);
}

TEST(Binning, CoincidingCutsSkipScores) {
    // Many equal values: cuts {1,1,1,2}. Equal values share a score; scores 2..3 are skipped.
    const std::vector<double> cuts = {1, 1, 1, 2};
    EXPECT_EQ(crm::bin_of(1, cuts), 1);
    EXPECT_EQ(crm::bin_of(2, cuts), 4);
    EXPECT_EQ(crm::bin_of(3, cuts), 5);
}

TEST(Ntile, MatchesSqlNtile) {
    // SELECT ntile(3) OVER (ORDER BY x) FROM generate_series(1,7) x -> 1 1 1 2 2 3 3
    std::vector<std::size_t> order = {0, 1, 2, 3, 4, 5, 6};
    EXPECT_EQ(crm::ntile(order, 3), (std::vector<int>{1, 1, 1, 2, 2, 3, 3}));
    // Fewer rows than tiles: 1, 2
    EXPECT_EQ(crm::ntile({0, 1}, 5), (std::vector<int>{1, 2}));
    // The order decides who gets which tile.
    EXPECT_EQ(crm::ntile({2, 0, 1}, 3), (std::vector<int>{2, 3, 1}));
}

}  // namespace
