// Campaign uplift: Welch interval and p-value against scipy.stats, conversion
// uplift against hand computation, and the parallel state's byte format.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "campaign.hpp"
#include "errors.hpp"
#include "expect_error.hpp"

namespace {

// test/reference/welch_scipy.py prints these samples and scipy's results.
const std::vector<double> kTreated = {
    52.02, 57.97, 46.52, 34.19, 42.91, 32.17, 53.2, 78.8, 42.16, 39.59, 61.8, 59.14, 54.11, 33.39,
    51.41, 65.91, 25.12, 42.85, 13.98, 26.21, 15.17, 47.3, 26.65, 57.43, 55.14, 48.26, 1.66, 41.23,
    51.03, 54.27, 21.4, 42.44, 32.43, 35.82, 73.22, 35.85, 51.35, 69.69, 40.33, 49.77};
const std::vector<double> kControl = {
    46.33, 45.77, 30.3, 45.91, 61.31, 26.43, 55.31, 46.43, 37.3, 69.0, 54.15, 30.61, 45.89, 51.92,
    42.73, 53.19, 44.2, 53.01, 62.26, 36.89, 47.44, 39.44, 46.53, 30.75, 38.05, 42.65, 55.79, 58.74,
    29.12, 35.46, 52.76, 21.09, 39.44, 43.83, 60.08, 53.27, 41.07, 40.58, 42.0, 63.28, 39.86, 41.36,
    49.23, 43.55, 42.63, 31.63, 44.86, 39.68, 58.99, 52.84, 44.71, 53.02, 40.92, 57.63, 44.94};

crm::UpliftState sample_state() {
    crm::UpliftState s;
    for (double x : kTreated) s.add(true, x);
    for (double x : kControl) s.add(false, x);
    return s;
}

TEST(WelchUplift, MatchesScipy) {
    const auto r = crm::welch_uplift(sample_state(), 0.95);
    EXPECT_EQ(r.treated_n, 40);
    EXPECT_EQ(r.control_n, 55);
    EXPECT_NEAR(*r.uplift, -1.4692954545454597, 1e-9);
    // The interval with the exact t quantile (mpmath, 40 digits) ...
    EXPECT_NEAR(*r.ci_low, -7.325538147902996, 1e-12);
    EXPECT_NEAR(*r.ci_high, 4.386947238812077, 1e-12);
    // ... and scipy 1.10's, whose t.ppf is off by about 1e-9 at this df.
    EXPECT_NEAR(*r.ci_low, -7.325538145087008, 5e-9);
    EXPECT_NEAR(*r.ci_high, 4.386947235996089, 5e-9);
    EXPECT_NEAR(*r.p_value, 0.6175943857075896, 1e-9);
    EXPECT_NEAR(*r.df, 59.92674626967918, 1e-9);
    EXPECT_NEAR(*r.incremental_revenue, -1.4692954545454597 * 40, 1e-7);
}

TEST(WelchUplift, ParallelMergeGivesTheSameAnswer) {
    crm::UpliftState a, b;
    for (std::size_t i = 0; i < kTreated.size(); ++i) (i % 3 ? a : b).add(true, kTreated[i]);
    for (std::size_t i = 0; i < kControl.size(); ++i) (i % 2 ? a : b).add(false, kControl[i]);
    a.merge(b);
    const auto merged = crm::welch_uplift(a);
    const auto whole = crm::welch_uplift(sample_state());
    EXPECT_NEAR(*merged.ci_low, *whole.ci_low, 1e-12);
    EXPECT_NEAR(*merged.p_value, *whole.p_value, 1e-12);
}

TEST(WelchUplift, TooFewRowsGiveNoInterval) {
    crm::UpliftState s;
    s.add(true, 10);
    s.add(false, 4);
    s.add(false, 6);
    const auto r = crm::welch_uplift(s);
    EXPECT_DOUBLE_EQ(*r.uplift, 5.0);
    EXPECT_DOUBLE_EQ(*r.incremental_revenue, 5.0);
    EXPECT_FALSE(r.ci_low.has_value());
    EXPECT_FALSE(r.p_value.has_value());
    crm::UpliftState only_treated;
    only_treated.add(true, 1);
    only_treated.add(true, 2);
    const auto t = crm::welch_uplift(only_treated);
    EXPECT_FALSE(t.uplift.has_value());
    EXPECT_FALSE(t.control_mean.has_value());
    EXPECT_DOUBLE_EQ(*t.treated_mean, 1.5);
}

TEST(WelchUplift, ConstantGroupsHaveNoTest) {
    crm::UpliftState s;
    for (int i = 0; i < 3; ++i) {
        s.add(true, 7);
        s.add(false, 5);
    }
    const auto r = crm::welch_uplift(s);
    EXPECT_DOUBLE_EQ(*r.uplift, 2.0);
    EXPECT_FALSE(r.p_value.has_value());
}

TEST(WelchUplift, BadInput) {
    crm::UpliftState s;
    EXPECT_ERROR_KIND(s.add(true, std::nan("")), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(s.add(true, std::numeric_limits<double>::infinity()), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::welch_uplift(sample_state(), 1.0), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::welch_uplift(sample_state(), 0.0), crm::ErrorKind::InvalidParameter);
}

TEST(UpliftState, BytesRoundTripAndRejectCorruption) {
    auto s = sample_state();
    s.skipped = 3;
    const auto bytes = s.serialize();
    const auto back = crm::UpliftState::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.treated.n, s.treated.n);
    EXPECT_EQ(back.control.m2, s.control.m2);
    EXPECT_EQ(back.skipped, 3);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_ERROR_KIND(crm::UpliftState::deserialize(bytes.data(), cut), crm::ErrorKind::InvalidBinary);
}

TEST(ConversionUplift, HandComputed) {
    // treated 30/100, control 20/100
    crm::ConversionState s;
    for (int i = 0; i < 100; ++i) {
        s.add(true, i < 30);
        s.add(false, i < 20);
    }
    const auto r = crm::conversion_uplift(s, 0.95);
    EXPECT_DOUBLE_EQ(*r.uplift, 0.1);
    EXPECT_NEAR(*r.incremental_conversions, 10.0, 1e-12);
    // Wald: se = sqrt(.3*.7/100 + .2*.8/100) = sqrt(0.0037); z = 1.959963984540054
    const double se = std::sqrt(0.0037);
    EXPECT_NEAR(*r.ci_low, 0.1 - 1.959963984540054 * se, 1e-12);
    EXPECT_NEAR(*r.ci_high, 0.1 + 1.959963984540054 * se, 1e-12);
    // pooled p = .25; se = sqrt(.25*.75*(2/100)); z = 0.1/se = 1.6329931618554523;
    // p = 2 * norm.sf(z) = 0.10247043485974937 (scipy.stats.norm.sf)
    EXPECT_NEAR(*r.p_value, 0.10247043485974937, 1e-12);
}

TEST(ConversionState, BytesRoundTripAndRejectInconsistentCounts) {
    crm::ConversionState s;
    s.add(true, true);
    s.add(false, false);
    auto bytes = s.serialize();
    const auto back = crm::ConversionState::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.treated_converted, 1);
    bytes[2 + 8] = 9;  // treated_converted (second field) > treated_n
    EXPECT_ERROR_KIND(crm::ConversionState::deserialize(bytes.data(), bytes.size()), crm::ErrorKind::InvalidBinary);
}

}  // namespace
