// Customer lifetime value and a churn-risk tier from a fitted purchase model
// (BG/NBD or Pareto/NBD) and an expected spend per transaction (Gamma-Gamma).
#pragma once

#include "clv_bgnbd.hpp"
#include "clv_memo.hpp"
#include "clv_paretonbd.hpp"

namespace crm::clv {

struct ClvOptions {
    int months = 12;                // horizon H in months, 0 .. 1200
    double monthly_discount = 0.01; // d > -1
    double margin = 1.0;            // profit share of spend, finite
    double month_length = 4.345;    // a month in the model's time unit: month_length(unit)
};

// CLV = sum_{i=1..H} margin * spend * (E[Y(t_i)] - E[Y(t_{i-1})]) / (1 + d)^i,
// t_i = i * month_length, E[Y] the conditional expected purchases of the
// customer (x, t_x, T): lifetimes' customer_lifetime_value. expected_spend is
// typically gammagamma_expected_spend(...). Throws 22023 for invalid options
// or inputs. Allocates nothing; costs H conditional expectations.
double customer_lifetime_value(const BgNbdParams& model, double expected_spend, double x, double t_x, double T,
                               const ClvOptions& options = {});
// The same with the month ends' expectations taken from (and kept in) a
// query's memo: the same value, computed once per (x, T).
double customer_lifetime_value(const BgNbdParams& model, double expected_spend, double x, double t_x, double T,
                               const ClvOptions& options, ClvScoringMemo& memo);
double customer_lifetime_value(const ParetoNbdParams& model, double expected_spend, double x, double t_x, double T,
                               const ClvOptions& options = {});

enum class ChurnRisk { Low, Medium, High };

// Default thresholds: "high" when the customer is more likely dead than not by
// a clear margin (P(alive) < 0.3); "medium" when alive is uncertain
// (P(alive) < 0.7) or, alive or not, fewer than 0.5 purchases are expected
// over the horizon the caller chose (a live but dormant customer); "low" else.
struct ChurnThresholds {
    double high_alive_below = 0.3;
    double medium_alive_below = 0.7;
    double medium_purchases_below = 0.5;
};

// Throws 22023 for p_alive outside [0, 1], negative or non-finite expected
// purchases, or thresholds that are not finite.
ChurnRisk churn_risk(double p_alive, double expected_purchases, const ChurnThresholds& thresholds = {});
const char* churn_risk_name(ChurnRisk risk);  // "low", "medium", "high"

}  // namespace crm::clv
