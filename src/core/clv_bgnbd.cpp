#include "clv_bgnbd.hpp"

#include <Eigen/Core>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <math.h>  // lgamma_r

#include <algorithm>
#include <cmath>
#include <limits>

#include "clv_math.hpp"
#include "clv_optimize.hpp"
#include "errors.hpp"
#include "parallel_jobs.hpp"

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

// log Gamma(v) as std::lgamma computes it, without writing the global signgam
// (the likelihood runs on two threads).
double log_gamma(double v) {
    int sign = 0;
    return lgamma_r(v, &sign);
}

// The terms of a customer's log-likelihood that depend on x only.
double x_terms(const BgNbdParams& p, double x) {
    return log_gamma(p.r + x) - log_gamma(p.r) + p.r * std::log(p.alpha) + log_gamma(p.a + p.b) +
           log_gamma(p.b + x) - log_gamma(p.b) - log_gamma(p.a + p.b + x);
}

// The rows as the likelihood reads them, in the state's order (sorted by x),
// with t_x and T replaced by indices into their distinct values: ages and
// recencies come from dates, so a few hundred distinct values serve hundreds
// of thousands of rows, and log(alpha + v) is taken once per distinct value
// and evaluation instead of twice per row.
struct BgNbdData {
    struct Row {
        double x;
        double count;
        std::uint32_t t_x;  // indices into values
        std::uint32_t T;
    };
    std::vector<Row> rows;
    std::vector<double> values;

    explicit BgNbdData(const std::vector<RepeatRow>& in) {
        values.reserve(2 * in.size());
        for (const RepeatRow& r : in) {
            values.push_back(r.t_x);
            values.push_back(r.T);
        }
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
        const auto index = [this](double v) {
            return static_cast<std::uint32_t>(std::lower_bound(values.begin(), values.end(), v) - values.begin());
        };
        rows.reserve(in.size());
        for (const RepeatRow& r : in)
            rows.push_back({static_cast<double>(r.x), static_cast<double>(r.count), index(r.t_x), index(r.T)});
    }
};

// The log-likelihood of rows [begin, end) and its gradient on (r, alpha, a,
// b). The gamma and digamma terms are computed once per distinct x, the logs
// of alpha + t_x and alpha + T once per distinct value (`shifted`,
// `log_shifted`, by the caller). Every other operation is the per-row
// formula's own, in its order (bracket() above). (Deriving the second term's
// share from the same exp as the bracket, one exp less per row, moved a
// weakly identified fit to another point of its ridge.)
double rows_log_likelihood(const BgNbdParams& p, const BgNbdData& data, const std::vector<double>& shifted,
                           const std::vector<double>& log_shifted, std::size_t begin, std::size_t end,
                           Eigen::Vector4d* grad) {
    double ll = 0.0;
    Eigen::Vector4d g = Eigen::Vector4d::Zero();  // d/d(r, alpha, a, b)
    double cur_x = -1.0, cx = 0.0, log_ratio = 0.0;
    Eigen::Vector4d dcx = Eigen::Vector4d::Zero();
    const double dg_ab = grad ? digamma(p.a + p.b) : 0.0;
    const double log_a = std::log(p.a);
    for (std::size_t i = begin; i < end; ++i) {
        const BgNbdData::Row& row = data.rows[i];
        const double x = row.x;
        if (x != cur_x) {
            cur_x = x;
            cx = x_terms(p, x);
            if (x > 0) log_ratio = log_a - std::log(p.b + x - 1.0);
            if (grad) {
                dcx[0] = digamma(p.r + x) - digamma(p.r) + std::log(p.alpha);
                dcx[1] = p.r / p.alpha;
                dcx[2] = dg_ab - digamma(p.a + p.b + x);
                dcx[3] = dg_ab + digamma(p.b + x) - digamma(p.b) - digamma(p.a + p.b + x);
            }
        }
        const double log_T = log_shifted[row.T];
        const double u1 = -(p.r + x) * log_T;
        double log_value = u1, w2 = 0.0;
        if (x > 0) {
            const double u2 = log_ratio - (p.r + x) * log_shifted[row.t_x];
            log_value = log_add_exp(u1, u2);
            w2 = std::exp(u2 - log_value);
        }
        ll += row.count * (cx + log_value);
        if (grad) {
            const double w1 = 1.0 - w2;
            Eigen::Vector4d d = dcx;
            d[0] -= w1 * log_T + (x > 0 ? w2 * log_shifted[row.t_x] : 0.0);
            d[1] -= w1 * (p.r + x) / shifted[row.T] + (x > 0 ? w2 * (p.r + x) / shifted[row.t_x] : 0.0);
            if (x > 0) {
                d[2] += w2 / p.a;
                d[3] -= w2 / (p.b + x - 1.0);
            }
            g += row.count * d;
        }
    }
    if (grad) *grad = g;
    return ll;
}

// Total log-likelihood over the rows and its gradient. The rows are summed in
// fixed blocks and the blocks' sums added in order, so the doubles do not
// depend on how many threads computed the blocks (two from two blocks on).
constexpr std::size_t kLikelihoodBlock = 32768;
constexpr int kLikelihoodThreads = 2;

double total_log_likelihood(const BgNbdParams& p, const BgNbdData& data, Eigen::Vector4d* grad) {
    std::vector<double> shifted(data.values.size()), log_shifted(data.values.size());
    for (std::size_t i = 0; i < data.values.size(); ++i) {
        shifted[i] = p.alpha + data.values[i];
        log_shifted[i] = std::log(shifted[i]);
    }
    const std::size_t n = data.rows.size();
    const int blocks = static_cast<int>(std::max<std::size_t>(1, (n + kLikelihoodBlock - 1) / kLikelihoodBlock));
    std::vector<double> block_ll(static_cast<std::size_t>(blocks));
    std::vector<Eigen::Vector4d> block_grad(static_cast<std::size_t>(blocks), Eigen::Vector4d::Zero());
    run_jobs(blocks, kLikelihoodThreads, [&](int, int b, Progress&) {
        const std::size_t begin = static_cast<std::size_t>(b) * kLikelihoodBlock;
        const std::size_t end = std::min(n, begin + kLikelihoodBlock);
        block_ll[static_cast<std::size_t>(b)] = rows_log_likelihood(
            p, data, shifted, log_shifted, begin, end, grad ? &block_grad[static_cast<std::size_t>(b)] : nullptr);
    });
    double ll = 0.0;
    Eigen::Vector4d g = Eigen::Vector4d::Zero();
    for (int b = 0; b < blocks; ++b) {
        ll += block_ll[static_cast<std::size_t>(b)];
        g += block_grad[static_cast<std::size_t>(b)];
    }
    if (grad) *grad = g;
    return ll;
}

BgNbdParams from_vector(const Eigen::VectorXd& v) { return BgNbdParams{v[0], v[1], v[2], v[3]}; }

// The expectation below as an integral. Alive at T, the purchase rate has the
// posterior Gamma(r + x, alpha + T) and the dropout probability Beta(a, b + x);
// a customer with rate lambda who drops out after each purchase with
// probability q makes (1 - e^(-lambda q t)) / q purchases in t on average, and
// integrating lambda out leaves
//   E = int_0^1 (1 - (1 + q t / (alpha + T))^-(r + x)) / q  dBeta(q; a, b + x).
// The weight is normalised numerically (no Beta function of huge arguments).
// A bounded density (a, b + x >= 1) is integrated by adaptive Gauss-Kronrod
// over its mean +- 12 standard deviations (beyond them a bounded Beta density
// is below 1e-20 of its peak), which keeps a needle-sharp density in view; otherwise tanh-sinh with q = u^(1/a) absorbs the singularity at 0.
double alive_expectation_by_quadrature(const BgNbdParams& p, double t, double x, double T) {
    const double shape1 = p.a, shape2 = p.b + x, rx = p.r + x, scale = p.alpha + T;
    const auto gain = [&](double q) { return q > 0 ? -std::expm1(-rx * std::log1p(q * t / scale)) / q : rx * t / scale; };
    if (shape1 >= 1 && shape2 >= 1) {
        // The log-density relative to the mode, written with log1p of the distance from it: with shapes in
        // the millions the plain difference of two logs of size 1e7 would carry noise of 1e-9, enough to
        // keep the quadrature's error estimate from ever settling.
        const double mode = shape1 + shape2 > 2 ? (shape1 - 1) / (shape1 + shape2 - 2) : 0.5;
        const auto weight = [&](double q) {
            if (q <= 0 || q >= 1) return 0.0;
            const double d = q - mode;
            const double up = mode > 0 ? (shape1 - 1) * std::log1p(d / mode) : (shape1 - 1) * std::log(q);
            const double down = mode < 1 ? (shape2 - 1) * std::log1p(-d / (1 - mode)) : (shape2 - 1) * std::log1p(-q);
            return std::exp(up + down);
        };
        const double mean = shape1 / (shape1 + shape2);
        const double sd = std::sqrt(mean * (1 - mean) / (shape1 + shape2 + 1));
        const double lo = std::max(0.0, mean - 12 * sd), hi = std::min(1.0, mean + 12 * sd);
        using GK = boost::math::quadrature::gauss_kronrod<double, 61>;
        const double mass = GK::integrate(weight, lo, hi, 8, 1e-10);
        const double total = GK::integrate([&](double q) { return gain(q) * weight(q); }, lo, hi, 8, 1e-10);
        return total / mass;
    }
    boost::math::quadrature::tanh_sinh<double> integrator;
    const auto substituted = [&](auto f) {
        return integrator.integrate(
            [&](double u) {
                const double q = std::pow(u, 1.0 / shape1);
                return q > 0 && q < 1 ? f(q) * std::pow(1 - q, shape2 - 1) : 0.0;
            },
            0.0, 1.0, 1e-12);
    };
    return substituted(gain) / substituted([](double) { return 1.0; });
}

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
    // The series' terms grow like (a z)^n / n! before they shrink, past double range once a z is in the
    // hundreds: a fit with a homogeneous dropout probability (a and b in the millions) defeats it, as can
    // a horizon far beyond alpha + T. The same expectation as an integral over the dropout probability then.
    if (p.a * z < 300) {
        const double H = detail::bgnbd_series(C - p.r - x, p.a, C, z);
        if (std::isfinite(H)) return C * detail::one_minus_exp_over(p.a - 1.0, L) - std::exp(-(p.a - 1.0) * L) * H;
    }
    const double value = alive_expectation_by_quadrature(p, t, x, T);
    if (!std::isfinite(value))
        throw_error(ErrorKind::OutOfRange, "the BG/NBD expectation does not converge for t = " + std::to_string(t),
                    "Use a horizon t closer to the scale alpha + T of the model.");
    return value;
}
}  // namespace

double bgnbd_log_likelihood(const BgNbdParams& p, double x, double t_x, double T) {
    check_params(p);
    detail::check_customer(x, t_x, T);
    return x_terms(p, x) + bracket(p, x, t_x, T).log_value;
}

double bgnbd_log_likelihood(const BgNbdParams& p, const PurchaseFitState& state) {
    check_params(p);
    return total_log_likelihood(p, BgNbdData(state.rows()), nullptr);
}

BgNbdParams bgnbd_log_likelihood_gradient(const BgNbdParams& p, const PurchaseFitState& state) {
    check_params(p);
    Eigen::Vector4d g;
    total_log_likelihood(p, BgNbdData(state.rows()), &g);
    return BgNbdParams{g[0], g[1], g[2], g[3]};
}

BgNbdFit fit_bgnbd(const PurchaseFitState& state) { return fit_bgnbd(state.rows()); }

BgNbdFit fit_bgnbd(const std::vector<RepeatRow>& rows) {
    std::int64_t customers = 0;
    for (const RepeatRow& row : rows) customers += row.count;  // the state's customers(), which cannot overflow
    const detail::PurchaseTotals totals = detail::identifiable_totals(rows, "BG/NBD");
    const BgNbdData data(rows);

    const detail::LogLikelihood ll = [&data](const Eigen::VectorXd& log_params, Eigen::VectorXd& grad) {
        const BgNbdParams p = from_vector(log_params.array().exp().matrix());
        Eigen::Vector4d g;
        const double value = total_log_likelihood(p, data, &g);
        // Chain rule to log-parameters: d/d log(theta) = theta d/d theta.
        grad = g.cwiseProduct(Eigen::Vector4d(p.r, p.alpha, p.a, p.b));
        return value;
    };
    // Start: r = 1 and alpha = total age / total repeat purchases (so the mean
    // purchase rate r/alpha matches the data), a = b = 1.
    Eigen::VectorXd start(4);
    start << 1.0, totals.age / totals.repeat_purchases, 1.0, 1.0;
    const detail::MaximumLikelihood ml = detail::maximize_log_likelihood(ll, start, customers);

    BgNbdFit fit;
    fit.params = from_vector(ml.params);
    fit.se = from_vector(ml.se);
    fit.info = detail::fit_info(ml, customers);
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
