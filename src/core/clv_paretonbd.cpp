#include "clv_paretonbd.hpp"

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "clv_math.hpp"
#include "clv_optimize.hpp"
#include "errors.hpp"

namespace crm::clv {

namespace {
using detail::log_add_exp;

void check_params(const ParetoNbdParams& p) {
    detail::check_positive(p.r, "r");
    detail::check_positive(p.alpha, "alpha");
    detail::check_positive(p.s, "s");
    detail::check_positive(p.beta, "beta");
}

// Series terms allowed per 2F1: scoring accepts z up to ~1 - 3e-4; inside a
// fit a shorter series keeps every likelihood evaluation cheap, and a point
// needing more (alpha and beta orders of magnitude apart) counts as outside.
constexpr long kScoringTerms = 100000;
constexpr long kFitTerms = 5000;

// log F(y) of the header: log 2F1(...) - (r+s+x) log(m+y). NaN when the series
// cannot converge within max_terms.
double log_F(const ParetoNbdParams& p, double x, double y, long max_terms) {
    const double rsx = p.r + p.s + x;
    const bool alpha_is_max = p.alpha >= p.beta;
    const double hi = alpha_is_max ? p.alpha : p.beta;
    const double lo = alpha_is_max ? p.beta : p.alpha;
    const double b = alpha_is_max ? p.s + 1.0 : p.r + x;
    const double q = hi + y;
    // Euler's transformation 2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z), here with
    // c = a + 1: the terms of 2F1(1, c - b; c; z) fall off like n^-(b) z^n instead of n^(b - 2) z^n,
    // so the series stays short when s (or r + x) is large and z is near 1 (beta far above alpha),
    // where the plain series needed its whole term budget. 1 - z = (lo + y) / q exactly.
    const double z = (hi - lo) / q;
    const double log_one_minus_z = std::log(lo + y) - std::log(q);
    const double series = detail::hyp2f1(1.0, rsx + 1.0 - b, rsx + 1.0, z, max_terms);
    return (1.0 - b) * log_one_minus_z + std::log(series) - rsx * std::log(q);
}

// log of the bracket [(alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0]; also the
// log of its first term (the "alive" part) through *log_alive.
double log_bracket(const ParetoNbdParams& p, double x, double t_x, double T, double* log_alive = nullptr,
                   long max_terms = kScoringTerms) {
    const double alive = -(p.r + x) * std::log(p.alpha + T) - p.s * std::log(p.beta + T);
    if (log_alive) *log_alive = alive;
    if (t_x == T) return alive;  // A0 = 0: dying in (t_x, T] has no room
    const double la = log_F(p, x, t_x, max_terms);
    const double lb = log_F(p, x, T, max_terms);
    // log(F(t_x) - F(T)); F decreases in y, so the difference is positive.
    const double log_A0 = la + std::log(-std::expm1(lb - la));
    return log_add_exp(alive, std::log(p.s) - std::log(p.r + p.s + x) + log_A0);
}

double x_terms(const ParetoNbdParams& p, double x) {
    return std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha) + p.s * std::log(p.beta);
}

double total_log_likelihood(const ParetoNbdParams& p, const std::vector<RepeatRow>& rows) {
    double ll = 0.0;
    double cur_x = -1.0, cx = 0.0;
    for (const RepeatRow& row : rows) {
        const double x = static_cast<double>(row.x);
        if (x != cur_x) {
            cur_x = x;
            cx = x_terms(p, x);
        }
        ll += static_cast<double>(row.count) * (cx + log_bracket(p, x, row.t_x, row.T, nullptr, kFitTerms));
    }
    return ll;
}

ParetoNbdParams from_vector(const Eigen::VectorXd& v) { return ParetoNbdParams{v[0], v[1], v[2], v[3]}; }
}  // namespace

double paretonbd_log_likelihood(const ParetoNbdParams& p, double x, double t_x, double T) {
    check_params(p);
    detail::check_customer(x, t_x, T);
    return x_terms(p, x) + log_bracket(p, x, t_x, T);
}

double paretonbd_log_likelihood(const ParetoNbdParams& p, const PurchaseFitState& state) {
    check_params(p);
    return total_log_likelihood(p, state.rows());
}

ParetoNbdFit fit_paretonbd(const PurchaseFitState& state) {
    const std::vector<RepeatRow> rows = state.rows();
    const detail::PurchaseTotals totals = detail::identifiable_totals(rows, "Pareto/NBD");

    const auto value = [&rows](const Eigen::VectorXd& log_params) {
        return total_log_likelihood(from_vector(log_params.array().exp().matrix()), rows);
    };
    const detail::LogLikelihood ll = [&value](const Eigen::VectorXd& log_params, Eigen::VectorXd& grad) {
        const double v = value(log_params);
        grad = std::isfinite(v) ? detail::numerical_log_gradient(value, log_params)
                                : Eigen::VectorXd::Zero(log_params.size());
        return v;
    };
    // Start: r = s = 1, alpha matched to the mean purchase rate, beta to the
    // mean age (a lifetime of the order of the observation window).
    const double mean_T = totals.age / static_cast<double>(state.customers());
    Eigen::VectorXd start(4);
    start << 1.0, totals.age / totals.repeat_purchases, 1.0, mean_T;
    const detail::MaximumLikelihood ml = detail::maximize_log_likelihood(ll, start, state.customers());

    ParetoNbdFit fit;
    fit.params = from_vector(ml.params);
    fit.se = from_vector(ml.se);
    fit.info = detail::fit_info(ml, state.customers());
    return fit;
}

double paretonbd_expected_purchases(const ParetoNbdParams& p, double t) {
    check_params(p);
    detail::check_horizon(t);
    return p.r * p.beta / p.alpha * detail::one_minus_exp_over(p.s - 1.0, std::log1p(t / p.beta));
}

namespace {
double checked(double value, const char* what) {
    if (!std::isfinite(value))
        throw_error(ErrorKind::OutOfRange, std::string("the Pareto/NBD ") + what + " does not converge",
                    "alpha and beta are too many orders of magnitude apart for the 2F1 series.");
    return value;
}
}  // namespace

double paretonbd_probability_alive(const ParetoNbdParams& p, double x, double t_x, double T) {
    check_params(p);
    detail::check_customer(x, t_x, T);
    double log_alive = 0.0;
    const double log_all = checked(log_bracket(p, x, t_x, T, &log_alive), "probability alive");
    return std::exp(log_alive - log_all);
}

double paretonbd_expected_purchases_if_alive(const ParetoNbdParams& p, double t, double x, double T) {
    detail::check_horizon(t);
    return (p.r + x) * (p.beta + T) / (p.alpha + T) *
           detail::one_minus_exp_over(p.s - 1.0, std::log1p(t / (p.beta + T)));
}

double paretonbd_conditional_expected_purchases(const ParetoNbdParams& p, double t, double x, double t_x,
                                                double T) {
    detail::check_horizon(t);
    const double alive = paretonbd_probability_alive(p, x, t_x, T);
    return alive * paretonbd_expected_purchases_if_alive(p, t, x, T);
}

double paretonbd_probability_purchase(const ParetoNbdParams& p, double t, double x, double t_x, double T) {
    check_params(p);
    detail::check_customer(x, t_x, T);
    detail::check_horizon(t);
    const double log_ratio = log_bracket(p, x, t_x, T + t) - log_bracket(p, x, t_x, T);
    return -std::expm1(checked(log_ratio, "purchase probability"));
}

}  // namespace crm::clv
