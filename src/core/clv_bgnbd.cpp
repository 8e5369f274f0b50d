#include "clv_bgnbd.hpp"

#include <Eigen/Core>
#include <boost/math/special_functions/digamma.hpp>
#include <cmath>
#include <limits>

#include "clv_math.hpp"
#include "clv_optimize.hpp"
#include "errors.hpp"

namespace crm::clv {

namespace {
using boost::math::digamma;
using detail::log_add_exp;

void check_params(const BgNbdParams& p) {
    detail::check_positive(p.r, "r");
    detail::check_positive(p.alpha, "alpha");
    detail::check_positive(p.a, "a");
    detail::check_positive(p.b, "b");
}

// The part of a customer's log-likelihood that depends on T:
//   log[(alpha+T)^-(r+x) + [x > 0] a/(b+x-1) (alpha+t_x)^-(r+x)].
// u1 and u2 are the two terms' logs; w2 = the second term's share.
struct Bracket {
    double log_value;
    double w2;
};

Bracket bracket(const BgNbdParams& p, double x, double t_x, double T) {
    const double u1 = -(p.r + x) * std::log(p.alpha + T);
    if (x == 0.0) return {u1, 0.0};
    const double u2 = std::log(p.a) - std::log(p.b + x - 1.0) - (p.r + x) * std::log(p.alpha + t_x);
    const double log_value = log_add_exp(u1, u2);
    return {log_value, std::exp(u2 - log_value)};
}

// The terms of a customer's log-likelihood that depend on x only.
double x_terms(const BgNbdParams& p, double x) {
    return std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha) + std::lgamma(p.a + p.b) +
           std::lgamma(p.b + x) - std::lgamma(p.b) - std::lgamma(p.a + p.b + x);
}

// Total log-likelihood over the rows and its gradient on log-parameters. The
// rows come sorted by x, so the gamma and digamma terms are computed once per
// distinct x.
double total_log_likelihood(const BgNbdParams& p, const std::vector<RepeatRow>& rows, Eigen::Vector4d* grad) {
    double ll = 0.0;
    Eigen::Vector4d g = Eigen::Vector4d::Zero();  // d/d(r, alpha, a, b)
    double cur_x = -1.0, cx = 0.0;
    Eigen::Vector4d dcx = Eigen::Vector4d::Zero();
    const double dg_ab = grad ? digamma(p.a + p.b) : 0.0;
    for (const RepeatRow& row : rows) {
        const double x = static_cast<double>(row.x);
        const double n = static_cast<double>(row.count);
        if (x != cur_x) {
            cur_x = x;
            cx = x_terms(p, x);
            if (grad) {
                dcx[0] = digamma(p.r + x) - digamma(p.r) + std::log(p.alpha);
                dcx[1] = p.r / p.alpha;
                dcx[2] = dg_ab - digamma(p.a + p.b + x);
                dcx[3] = dg_ab + digamma(p.b + x) - digamma(p.b) - digamma(p.a + p.b + x);
            }
        }
        const Bracket br = bracket(p, x, row.t_x, row.T);
        ll += n * (cx + br.log_value);
        if (grad) {
            const double w1 = 1.0 - br.w2;
            Eigen::Vector4d d = dcx;
            d[0] -= w1 * std::log(p.alpha + row.T) + (x > 0 ? br.w2 * std::log(p.alpha + row.t_x) : 0.0);
            d[1] -= w1 * (p.r + x) / (p.alpha + row.T) + (x > 0 ? br.w2 * (p.r + x) / (p.alpha + row.t_x) : 0.0);
            if (x > 0) {
                d[2] += br.w2 / p.a;
                d[3] -= br.w2 / (p.b + x - 1.0);
            }
            g += n * d;
        }
    }
    if (grad) *grad = g;
    return ll;
}

BgNbdParams from_vector(const Eigen::VectorXd& v) { return BgNbdParams{v[0], v[1], v[2], v[3]}; }

// E[number of purchases in (T, T + t]] for a customer still alive at T with
// x repeat purchases, before weighting by P(alive): with z = t/(alpha+T+t),
//   (a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)].
// Euler's transformation turns (1-z)^(r+x) 2F1(r+x, b+x; C; z) into
// (1-z)^(a-1) 2F1(C-r-x, a-1; C; z) with C = a+b+x-1: no overflow for large
// x (the 2F1 itself grows like (1-z)^-x), and the a = 1 singularity becomes
//   C (1 - (1-z)^(a-1))/(a-1) - (1-z)^(a-1) H,  H = C [2F1(...) - 1]/(a-1),
// both finite at a = 1.
double alive_expectation(const BgNbdParams& p, double t, double x, double T) {
    if (t == 0.0) return 0.0;
    const double C = p.a + p.b + x - 1.0;
    const double base = p.alpha + T;
    const double z = t / (base + t);
    const double L = std::log1p(t / base);  // -log(1 - z)
    const double H = detail::bgnbd_series(C - p.r - x, p.a, C, z);
    if (!std::isfinite(H))
        throw_error(ErrorKind::OutOfRange, "the BG/NBD expectation does not converge for t = " + std::to_string(t),
                    "Use a horizon t closer to the scale alpha + T of the model.");
    return C * detail::one_minus_exp_over(p.a - 1.0, L) - std::exp(-(p.a - 1.0) * L) * H;
}
}  // namespace

double bgnbd_log_likelihood(const BgNbdParams& p, double x, double t_x, double T) {
    check_params(p);
    detail::check_customer(x, t_x, T);
    return x_terms(p, x) + bracket(p, x, t_x, T).log_value;
}

double bgnbd_log_likelihood(const BgNbdParams& p, const PurchaseFitState& state) {
    check_params(p);
    return total_log_likelihood(p, state.rows(), nullptr);
}

BgNbdParams bgnbd_log_likelihood_gradient(const BgNbdParams& p, const PurchaseFitState& state) {
    check_params(p);
    Eigen::Vector4d g;
    total_log_likelihood(p, state.rows(), &g);
    return BgNbdParams{g[0], g[1], g[2], g[3]};
}

BgNbdFit fit_bgnbd(const PurchaseFitState& state) {
    const std::vector<RepeatRow> rows = state.rows();
    const detail::PurchaseTotals totals = detail::identifiable_totals(rows, "BG/NBD");

    const detail::LogLikelihood ll = [&rows](const Eigen::VectorXd& log_params, Eigen::VectorXd& grad) {
        const BgNbdParams p = from_vector(log_params.array().exp().matrix());
        Eigen::Vector4d g;
        const double value = total_log_likelihood(p, rows, &g);
        // Chain rule to log-parameters: d/d log(theta) = theta d/d theta.
        grad = g.cwiseProduct(Eigen::Vector4d(p.r, p.alpha, p.a, p.b));
        return value;
    };
    // Start: r = 1 and alpha = total age / total repeat purchases (so the mean
    // purchase rate r/alpha matches the data), a = b = 1.
    Eigen::VectorXd start(4);
    start << 1.0, totals.age / totals.repeat_purchases, 1.0, 1.0;
    const detail::MaximumLikelihood ml = detail::maximize_log_likelihood(ll, start, state.customers());

    BgNbdFit fit;
    fit.params = from_vector(ml.params);
    fit.se = from_vector(ml.se);
    fit.info = detail::fit_info(ml, state.customers());
    return fit;
}

double bgnbd_expected_purchases(const BgNbdParams& p, double t) {
    check_params(p);
    detail::check_horizon(t);
    return alive_expectation(p, t, 0.0, 0.0);
}

double bgnbd_probability_alive(const BgNbdParams& p, double x, double t_x, double T) {
    check_params(p);
    detail::check_customer(x, t_x, T);
    if (x == 0.0) return 1.0;
    const double log_odds_dead = std::log(p.a) - std::log(p.b + x - 1.0) +
                                 (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x));
    return 1.0 / (1.0 + std::exp(log_odds_dead));
}

double bgnbd_expected_purchases_if_alive(const BgNbdParams& p, double t, double x, double T) {
    detail::check_horizon(t);
    return alive_expectation(p, t, x, T);
}

double bgnbd_conditional_expected_purchases(const BgNbdParams& p, double t, double x, double t_x, double T) {
    detail::check_horizon(t);
    const double alive = bgnbd_probability_alive(p, x, t_x, T);
    return alive * alive_expectation(p, t, x, T);
}

double bgnbd_probability_purchase(const BgNbdParams& p, double t, double x, double t_x, double T) {
    check_params(p);
    detail::check_customer(x, t_x, T);
    detail::check_horizon(t);
    const double log_ratio = bracket(p, x, t_x, T + t).log_value - bracket(p, x, t_x, T).log_value;
    return -std::expm1(log_ratio);
}

}  // namespace crm::clv
