// Campaign effect measured against a control group.
//
// Revenue uplift: difference of the mean revenue per customer of the treated
// and the control group, with Welch's t interval and p-value (unequal
// variances). Conversion uplift: difference of conversion rates with a Wald
// interval and the pooled two-proportion z-test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace crm {

// Count, mean and sum of squared deviations, updated one value at a time
// (Welford) and merged pairwise (Chan et al.), so parallel partial states
// combine without loss of precision.
struct MeanAccumulator {
    std::int64_t n = 0;
    double mean = 0.0;
    double m2 = 0.0;

    void add(double x);
    void merge(const MeanAccumulator& other);
    // Sample variance (n - 1 in the denominator); needs n >= 2.
    double sample_variance() const;
};

// State of crm.campaign_uplift: one accumulator per arm, plus the rows skipped
// because the revenue or the arm was NULL.
struct UpliftState {
    MeanAccumulator treated;
    MeanAccumulator control;
    std::int64_t skipped = 0;
    double confidence = 0.95;  // of the interval the final result reports

    void add(bool is_treatment, double revenue);  // non-finite revenue -> 22023
    void merge(const UpliftState& other);
    std::vector<std::uint8_t> serialize() const;
    static UpliftState deserialize(const std::uint8_t* data, std::size_t size);
};

struct UpliftResult {
    std::int64_t treated_n = 0;
    std::int64_t control_n = 0;
    std::int64_t skipped = 0;
    std::optional<double> treated_mean;
    std::optional<double> control_mean;
    std::optional<double> uplift;               // treated_mean - control_mean
    std::optional<double> incremental_revenue;  // uplift * treated_n
    // Welch interval and test; absent with fewer than two rows on a side or
    // when both groups have zero variance (the test is undefined then).
    std::optional<double> ci_low;
    std::optional<double> ci_high;
    std::optional<double> p_value;
    std::optional<double> std_error;
    std::optional<double> df;
};

// confidence in (0, 1), e.g. 0.95.
UpliftResult welch_uplift(const UpliftState& state, double confidence);
inline UpliftResult welch_uplift(const UpliftState& state) { return welch_uplift(state, state.confidence); }

// State of crm.conversion_uplift.
struct ConversionState {
    std::int64_t treated_n = 0;
    std::int64_t treated_converted = 0;
    std::int64_t control_n = 0;
    std::int64_t control_converted = 0;
    std::int64_t skipped = 0;
    double confidence = 0.95;

    void add(bool is_treatment, bool converted);
    void merge(const ConversionState& other);
    std::vector<std::uint8_t> serialize() const;
    static ConversionState deserialize(const std::uint8_t* data, std::size_t size);
};

struct ConversionResult {
    std::int64_t treated_n = 0;
    std::int64_t control_n = 0;
    std::int64_t treated_converted = 0;
    std::int64_t control_converted = 0;
    std::int64_t skipped = 0;
    std::optional<double> treated_rate;
    std::optional<double> control_rate;
    std::optional<double> uplift;                  // treated_rate - control_rate
    std::optional<double> incremental_conversions; // uplift * treated_n
    std::optional<double> ci_low;   // Wald interval, unpooled standard error
    std::optional<double> ci_high;
    std::optional<double> p_value;  // two-sided, pooled two-proportion z-test
};

ConversionResult conversion_uplift(const ConversionState& state, double confidence);
inline ConversionResult conversion_uplift(const ConversionState& state) {
    return conversion_uplift(state, state.confidence);
}

// Checks a confidence level: finite and strictly between 0 and 1 (22023).
void check_confidence(double confidence);

}  // namespace crm
