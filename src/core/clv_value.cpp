#include "clv_value.hpp"

#include <cmath>
#include <string>

#include "errors.hpp"

namespace crm::clv {

namespace {
void check_options(const ClvOptions& o, double expected_spend) {
    if (o.months < 0 || o.months > 1200)
        throw_invalid("horizon months must be between 0 and 1200, got " + std::to_string(o.months));
    if (!(std::isfinite(o.monthly_discount) && o.monthly_discount > -1.0))
        throw_invalid("monthly discount rate must be finite and > -1, got " + std::to_string(o.monthly_discount));
    if (!std::isfinite(o.margin)) throw_invalid("margin must be finite");
    if (!(std::isfinite(o.month_length) && o.month_length > 0.0))
        throw_invalid("month length must be finite and > 0, got " + std::to_string(o.month_length));
    if (!(std::isfinite(expected_spend) && expected_spend >= 0.0))
        throw_invalid("expected spend must be finite and >= 0, got " + std::to_string(expected_spend));
}

// The sum of the header; expected(i, t) is the model's cumulative E[Y(t)] at
// the end of month i, t = i * month_length.
template <class Expected>
double discounted_value(const ClvOptions& o, double expected_spend, Expected expected) {
    double value = 0.0;
    double previous = 0.0;  // E[Y(0)] = 0
    double discount = 1.0;
    for (int i = 1; i <= o.months; ++i) {
        const double cumulative = expected(i, o.month_length * i);
        discount /= 1.0 + o.monthly_discount;
        value += (cumulative - previous) * discount;
        previous = cumulative;
    }
    return o.margin * expected_spend * value;
}
}  // namespace

double customer_lifetime_value(const BgNbdParams& model, double expected_spend, double x, double t_x, double T,
                               const ClvOptions& options) {
    check_options(options, expected_spend);
    // E[Y(t)] = P(alive) E[Y(t) | alive]: P(alive) once, not at every month end.
    const double alive = bgnbd_probability_alive(model, x, t_x, T);
    return discounted_value(options, expected_spend, [&](int, double t) {
        return alive * bgnbd_expected_purchases_if_alive(model, t, x, T);
    });
}

double customer_lifetime_value(const BgNbdParams& model, double expected_spend, double x, double t_x, double T,
                               const ClvOptions& options, ClvScoringMemo& memo) {
    check_options(options, expected_spend);
    const double alive = bgnbd_probability_alive(model, x, t_x, T);
    if (options.months == 0) return discounted_value(options, expected_spend, [](int, double) { return 0.0; });
    // The month ends' values F(i * month_length), the same numbers the series gives one by one.
    const double* months = memo.expectations(model, x, T, options.month_length, options.months);
    const double* discounts = memo.discount_factors(options.months, options.monthly_discount);
    // discounted_value's sum, with its discount sequence read instead of divided out again.
    double value = 0.0;
    double previous = 0.0;
    for (int i = 0; i < options.months; ++i) {
        const double cumulative = alive * months[i];
        value += (cumulative - previous) * discounts[i];
        previous = cumulative;
    }
    return options.margin * expected_spend * value;
}

double customer_lifetime_value(const ParetoNbdParams& model, double expected_spend, double x, double t_x, double T,
                               const ClvOptions& options) {
    check_options(options, expected_spend);
    const double alive = paretonbd_probability_alive(model, x, t_x, T);
    return discounted_value(options, expected_spend, [&](int, double t) {
        return alive * paretonbd_expected_purchases_if_alive(model, t, x, T);
    });
}

ChurnRisk churn_risk(double p_alive, double expected_purchases, const ChurnThresholds& th) {
    if (!(p_alive >= 0.0 && p_alive <= 1.0))
        throw_invalid("probability alive must be between 0 and 1, got " + std::to_string(p_alive));
    if (!(std::isfinite(expected_purchases) && expected_purchases >= 0.0))
        throw_invalid("expected purchases must be finite and >= 0, got " + std::to_string(expected_purchases));
    if (!std::isfinite(th.high_alive_below) || !std::isfinite(th.medium_alive_below) ||
        !std::isfinite(th.medium_purchases_below))
        throw_invalid("churn thresholds must be finite");
    if (th.high_alive_below > th.medium_alive_below)
        throw_invalid("high_alive_below (" + std::to_string(th.high_alive_below) + ") must not exceed medium_alive_below (" +
                      std::to_string(th.medium_alive_below) + ")");
    if (p_alive < th.high_alive_below) return ChurnRisk::High;
    if (p_alive < th.medium_alive_below || expected_purchases < th.medium_purchases_below) return ChurnRisk::Medium;
    return ChurnRisk::Low;
}

const char* churn_risk_name(ChurnRisk risk) {
    switch (risk) {
        case ChurnRisk::High: return "high";
        case ChurnRisk::Medium: return "medium";
        case ChurnRisk::Low: return "low";
    }
    return "unknown";
}

}  // namespace crm::clv
