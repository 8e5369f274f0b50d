// The CLV core's formulas against independent computations: numerical
// integration over the mixing distributions, finite differences of the
// analytic gradients, a simulation, and the states' validation and bytes.
#include <gtest/gtest.h>

#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "byte_io.hpp"
#include "clv_bgnbd.hpp"
#include "clv_fit_state.hpp"
#include "clv_gammagamma.hpp"
#include "clv_paretonbd.hpp"
#include "clv_summary.hpp"
#include "clv_value.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "interrupts.hpp"

namespace {

namespace clv = crm::clv;
using crm::ErrorKind;

// Integral over p in (0, 1) of f(p) times the Beta(a, b) density (b >= 1).
// Substituting p = u^(1/a) absorbs the density's p^(a-1) singularity at 0;
// tanh-sinh copes with what is left at the ends.
template <class F>
double beta_expectation(double a, double b, F f) {
    const double value = boost::math::quadrature::tanh_sinh<double>().integrate(
        [&](double u) {
            const double p = std::pow(u, 1.0 / a);
            return p > 0 && p < 1 ? f(p) * std::pow(1 - p, b - 1) : 0.0;
        },
        0.0, 1.0, 1e-12);
    return value / (a * boost::math::beta(a, b));
}

// ---- summary ---------------------------------------------------------------

TEST(ClvSummary, MergesSameDayIgnoresLaterAndScalesUnits) {
    const std::vector<clv::Purchase> rows = {{10, 5.0}, {24, 3.0}, {3, 20.0}, {10, 1.0}, {3, 2.0}, {40, 99.0}};
    const auto s = clv::summarize_customer(rows.data(), rows.size(), 31, clv::TimeUnit::Week);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->x, 2);                          // days 10 and 24 after the first day 3
    EXPECT_DOUBLE_EQ(s->t_x, 21.0 / 7.0);        // 24 - 3
    EXPECT_DOUBLE_EQ(s->T, 28.0 / 7.0);          // 31 - 3
    EXPECT_DOUBLE_EQ(s->mean_spend, (6.0 + 3.0) / 2);  // first day (22) left out, day 10 summed
    const auto d = clv::summarize_customer(rows.data(), rows.size(), 31, clv::TimeUnit::Day);
    EXPECT_DOUBLE_EQ(d->t_x, 21.0);
    EXPECT_DOUBLE_EQ(d->T, 28.0);
    // Only purchases on one day: x = 0, t_x = 0, no repeat spend.
    const auto one = clv::summarize_customer(rows.data() + 2, 1, 31, clv::TimeUnit::Day);
    EXPECT_EQ(one->x, 0);
    EXPECT_EQ(one->t_x, 0.0);
    EXPECT_EQ(one->mean_spend, 0.0);
    // Nothing on or before as_of: not a customer yet.
    EXPECT_FALSE(clv::summarize_customer(rows.data(), rows.size(), 2, clv::TimeUnit::Day).has_value());
    EXPECT_FALSE(clv::summarize_customer(nullptr, 0, 2, clv::TimeUnit::Day).has_value());
}

TEST(ClvSummary, RejectsBadAmountsAndDays) {
    const std::vector<clv::Purchase> negative = {{1, 2.0}, {2, -1.0}};
    EXPECT_ERROR_KIND(clv::summarize_customer(negative.data(), 2, 5, clv::TimeUnit::Day), ErrorKind::InvalidParameter);
    const std::vector<clv::Purchase> nan = {{1, std::nan("")}};
    EXPECT_ERROR_KIND(clv::summarize_customer(nan.data(), 1, 5, clv::TimeUnit::Day), ErrorKind::InvalidParameter);
    const std::vector<clv::Purchase> far = {{std::int64_t{1} << 60, 1.0}};
    EXPECT_ERROR_KIND(clv::summarize_customer(far.data(), 1, 5, clv::TimeUnit::Day), ErrorKind::OutOfRange);
}

// ---- fit states --------------------------------------------------------------

TEST(ClvFitState, ValidatesRows) {
    clv::PurchaseFitState s;
    EXPECT_ERROR_KIND(s.add(1.5, 1, 2), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(s.add(-1, 0, 2), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(s.add(1, 3, 2), ErrorKind::InvalidParameter);     // t_x > T
    EXPECT_ERROR_KIND(s.add(0, 0, 0), ErrorKind::InvalidParameter);     // T = 0
    EXPECT_ERROR_KIND(s.add(0, 1, 2), ErrorKind::InvalidParameter);     // x = 0 with t_x > 0
    EXPECT_ERROR_KIND(s.add(1, std::nan(""), 2), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(s.add(1, 1, INFINITY), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(s.add(1, 1, 2, 0), ErrorKind::InvalidParameter);
    EXPECT_EQ(s.customers(), 0);
    clv::SpendFitState g;
    EXPECT_ERROR_KIND(g.add(2, 0.0), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(g.add(2, -3.0), ErrorKind::InvalidParameter);
    g.add(0, 0.0);  // skipped, m not checked
    EXPECT_EQ(g.skipped(), 1);
    EXPECT_EQ(g.customers(), 0);
}

TEST(ClvFitState, CompressesMergesAndRoundTrips) {
    clv::PurchaseFitState a, b, whole;
    const double rows[][3] = {{0, 0, 5}, {2, 3, 5}, {0, 0, 5}, {2, 3, 5}, {1, 1, 4}, {0, -0.0, 5}};
    for (int i = 0; i < 6; ++i) {
        (i % 2 ? a : b).add(rows[i][0], rows[i][1], rows[i][2]);
        whole.add(rows[i][0], rows[i][1], rows[i][2]);
    }
    a.merge(b);
    EXPECT_EQ(a.customers(), 6);
    EXPECT_EQ(a.distinct_rows(), 3u);  // -0.0 and 0.0 are one row
    const auto bytes = a.serialize();
    EXPECT_EQ(bytes, whole.serialize());  // same bytes whatever the split
    const auto back = clv::PurchaseFitState::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.serialize(), bytes);
    EXPECT_EQ(back.rows().front().count, 3);

    // Truncated, corrupted and foreign bytes.
    EXPECT_ERROR_KIND(clv::PurchaseFitState::deserialize(bytes.data(), bytes.size() - 1), ErrorKind::InvalidBinary);
    auto bad = bytes;
    bad[10 + 8] = 0xFF;  // first row's t_x becomes a NaN-ish / negative value
    bad[10 + 15] = 0xFF;
    EXPECT_ERROR_KIND(clv::PurchaseFitState::deserialize(bad.data(), bad.size()), ErrorKind::InvalidBinary);
    clv::SpendFitState g;
    g.add(3, 12.5, 2);
    g.add(0, 0.0);
    const auto gbytes = g.serialize();
    EXPECT_ERROR_KIND(clv::PurchaseFitState::deserialize(gbytes.data(), gbytes.size()), ErrorKind::InvalidParameter);
    const auto gback = clv::SpendFitState::deserialize(gbytes.data(), gbytes.size());
    EXPECT_EQ(gback.customers(), 2);
    EXPECT_EQ(gback.skipped(), 1);
    EXPECT_STREQ(crm::tag_name(bytes[0]), "BG/NBD and Pareto/NBD fit state");
}

TEST(ClvFitState, CountOverflowIsAnError) {
    clv::PurchaseFitState a, b;
    a.add(1, 1, 2, INT64_MAX);
    b.add(1, 1, 2, 1);
    EXPECT_ERROR_KIND(a.merge(b), ErrorKind::OutOfRange);
}

// ---- BG/NBD ------------------------------------------------------------------

const clv::BgNbdParams kBg{0.2425929, 4.4135316, 0.7928862, 2.4257537};

TEST(ClvBgNbd, ExpectedPurchasesMatchesIntegralOverDropout) {
    // E[X(t)] = E_p[(1 - (alpha/(alpha + p t))^r) / p], p ~ Beta(a, b): the
    // Poisson-gamma mixture integrated analytically over lambda.
    for (double a : {0.7928862, 1.0, 2.5}) {
        clv::BgNbdParams p = kBg;
        p.a = a;
        for (double t : {0.5, 3.0, 39.0, 300.0}) {
            const double direct = beta_expectation(p.a, p.b, [&](double q) {
                return -std::expm1(-p.r * std::log1p(q * t / p.alpha)) / q;
            });
            EXPECT_NEAR(clv::bgnbd_expected_purchases(p, t), direct, 1e-9 * (1 + direct)) << "a " << a << " t " << t;
        }
    }
    EXPECT_EQ(clv::bgnbd_expected_purchases(kBg, 0.0), 0.0);
}

TEST(ClvBgNbd, ConditionalExpectationAndPurchaseProbabilityMatchIntegrals) {
    // Over the posterior of (lambda, p), with lambda integrated analytically:
    // E[Y(t)] = int (1-p)^x [(al+T)^-(r+x) - (al+T+pt)^-(r+x)] / p dBeta
    //         / int [(1-p)^x (al+T)^-(r+x) + [x>0] p (1-p)^(x-1) (al+t_x)^-(r+x)] dBeta,
    // and P(no purchase in (T, T+t]) replaces the numerator by the
    // denominator's integrand at T + t.
    struct Case { double x, t_x, T, t; };
    for (const Case c : {Case{2, 30.43, 38.86, 39}, Case{0, 0, 20, 10}, Case{7, 35, 38, 52}, Case{1, 2, 30, 5}}) {
        for (double a : {0.7928862, 1.0, 3.0}) {
            clv::BgNbdParams p = kBg;
            p.a = a;
            const double rx = p.r + c.x;
            const auto evidence = [&](double T) {
                return beta_expectation(p.a, p.b, [&](double q) {
                    double v = std::pow(1 - q, c.x) * std::pow(p.alpha + T, -rx);
                    if (c.x > 0) v += q * std::pow(1 - q, c.x - 1) * std::pow(p.alpha + c.t_x, -rx);
                    return v;
                });
            };
            const double numerator = beta_expectation(p.a, p.b, [&](double q) {
                return std::pow(1 - q, c.x) * (std::pow(p.alpha + c.T, -rx) - std::pow(p.alpha + c.T + q * c.t, -rx)) / q;
            });
            const double expected = numerator / evidence(c.T);
            EXPECT_NEAR(clv::bgnbd_conditional_expected_purchases(p, c.t, c.x, c.t_x, c.T), expected, 1e-8 * (1 + expected));
            const double none = evidence(c.T + c.t) / evidence(c.T);
            EXPECT_NEAR(clv::bgnbd_probability_purchase(p, c.t, c.x, c.t_x, c.T), 1 - none, 1e-9);
        }
    }
}

TEST(ClvBgNbd, ConditionalExpectationWithAHomogeneousDropout) {
    // A fit on customers who all share one dropout probability sends a and b to millions (seen on generated
    // data: a 2.1e6, b 1.3e7); the series then needs millions of terms. The expectation must still come out,
    // and equal the fixed-q limit (1 - (1 + q t / (alpha + T))^-(r + x)) / q with q = a / (a + b + x), up to
    // the Beta's spread (sd ~ 1e-4, a second-order effect).
    const clv::BgNbdParams p{0.6636, 2.5211, 2131776.76, 13348269.99};
    struct Case { double x, t_x, T, t; };
    for (const Case c : {Case{0, 0, 0.5, 52.14}, Case{5, 40, 60, 52.14}, Case{20, 100, 101, 520}}) {
        const double q = p.a / (p.a + p.b + c.x);
        const double limit = -std::expm1(-(p.r + c.x) * std::log1p(q * c.t / (p.alpha + c.T))) / q;
        const double alive = clv::bgnbd_probability_alive(p, c.x, c.t_x, c.T);
        const double e = clv::bgnbd_conditional_expected_purchases(p, c.t, c.x, c.t_x, c.T);
        EXPECT_NEAR(e / alive, limit, 1e-6 * limit) << c.x << " " << c.T << " " << c.t;
    }
}

TEST(ClvBgNbd, ProbabilityAliveClosedForm) {
    // x = 0: nobody drops out before a repeat purchase in BG/NBD.
    EXPECT_EQ(clv::bgnbd_probability_alive(kBg, 0, 0, 38), 1.0);
    // x = 1, t_x = T: 1 / (1 + a / b).
    EXPECT_NEAR(clv::bgnbd_probability_alive(kBg, 1, 10, 10), 1 / (1 + kBg.a / kBg.b), 1e-15);
    const double expected = 1 / (1 + kBg.a / (kBg.b + 1) * std::pow((kBg.alpha + 38.86) / (kBg.alpha + 30.43), kBg.r + 2));
    EXPECT_NEAR(clv::bgnbd_probability_alive(kBg, 2, 30.43, 38.86), expected, 1e-15);
    // Huge x far in the past: essentially dead, still a number.
    EXPECT_GE(clv::bgnbd_probability_alive(kBg, 5000, 1, 1e6), 0.0);
    EXPECT_TRUE(std::isfinite(clv::bgnbd_conditional_expected_purchases(kBg, 52, 5000, 1, 1e6)));
}

TEST(ClvBgNbd, AnalyticGradientMatchesFiniteDifferences) {
    clv::PurchaseFitState s;
    s.add(0, 0, 30, 7);
    s.add(1, 4.5, 30);
    s.add(3, 20, 35, 2);
    s.add(12, 33, 36);
    const clv::BgNbdParams p{0.7, 3.0, 1.3, 2.1};
    const clv::BgNbdParams g = clv::bgnbd_log_likelihood_gradient(p, s);
    const double analytic[] = {g.r, g.alpha, g.a, g.b};
    for (int j = 0; j < 4; ++j) {
        clv::BgNbdParams hi = p, lo = p;
        const double h = 1e-6;
        (&hi.r)[j] += h;
        (&lo.r)[j] -= h;
        const double numeric = (clv::bgnbd_log_likelihood(hi, s) - clv::bgnbd_log_likelihood(lo, s)) / (2 * h);
        EXPECT_NEAR(analytic[j], numeric, 1e-6 * (1 + std::fabs(numeric))) << "parameter " << j;
    }
}

// Draws customers from BG/NBD: lambda ~ Gamma(r, alpha), p ~ Beta(a, b); each
// purchase is followed by dropout with probability p.
clv::PurchaseFitState simulate_bgnbd(const clv::BgNbdParams& truth, int customers, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::gamma_distribution<double> lambda_dist(truth.r, 1.0 / truth.alpha);
    std::gamma_distribution<double> ga(truth.a, 1.0), gb(truth.b, 1.0);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    clv::PurchaseFitState state;
    for (int i = 0; i < customers; ++i) {
        const double T = 26.0 + 13.0 * unit(rng);  // first purchases spread over a quarter
        const double lambda = lambda_dist(rng);
        const double u = ga(rng), v = gb(rng);
        const double p = u / (u + v);
        std::exponential_distribution<double> gap(lambda);
        int x = 0;
        double t = 0.0, last = 0.0;
        while (true) {
            t += gap(rng);
            if (t > T) break;
            ++x;
            last = t;
            if (unit(rng) < p) break;
        }
        state.add(x, x > 0 ? last : 0.0, T);
    }
    return state;
}

TEST(ClvBgNbd, RecoversSimulatedParametersWithinThreeStandardErrors) {
    const clv::BgNbdParams truth{0.25, 4.0, 0.8, 2.5};
    const auto start = std::chrono::steady_clock::now();
    const clv::PurchaseFitState state = simulate_bgnbd(truth, 100000, 20240601);
    const clv::BgNbdFit fit = clv::fit_bgnbd(state);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("simulated 100k: r %.4f (%.4f) alpha %.4f (%.4f) a %.4f (%.4f) b %.4f (%.4f), %zu rows, %.2f s\n",
                fit.params.r, fit.se.r, fit.params.alpha, fit.se.alpha, fit.params.a, fit.se.a, fit.params.b,
                fit.se.b, state.distinct_rows(), s);
    ASSERT_TRUE(fit.info.converged) << fit.info.note;
    EXPECT_NEAR(fit.params.r, truth.r, 3 * fit.se.r);
    EXPECT_NEAR(fit.params.alpha, truth.alpha, 3 * fit.se.alpha);
    EXPECT_NEAR(fit.params.a, truth.a, 3 * fit.se.a);
    EXPECT_NEAR(fit.params.b, truth.b, 3 * fit.se.b);
}

void expect_honest(const clv::FitInfo& info, std::initializer_list<double> params) {
    bool finite = true;
    for (double v : params) finite = finite && std::isfinite(v) && v > 0;
    if (info.converged) {
        EXPECT_TRUE(finite) << "converged with non-finite parameters";
        EXPECT_TRUE(info.note.empty());
    } else {
        EXPECT_FALSE(info.note.empty());
    }
}

TEST(ClvBgNbd, EdgeDataGiveAnErrorOrAnHonestFit) {
    clv::PurchaseFitState none;
    EXPECT_ERROR_KIND(clv::fit_bgnbd(none), ErrorKind::DataException);
    EXPECT_ERROR_KIND(clv::fit_paretonbd(none), ErrorKind::DataException);
    clv::PurchaseFitState zeros;
    zeros.add(0, 0, 30, 100);
    EXPECT_ERROR_KIND(clv::fit_bgnbd(zeros), ErrorKind::DataException);
    EXPECT_ERROR_KIND(clv::fit_paretonbd(zeros), ErrorKind::DataException);
    clv::PurchaseFitState one;
    one.add(3, 10, 20);
    const auto f1 = clv::fit_bgnbd(one);
    expect_honest(f1.info, {f1.params.r, f1.params.alpha, f1.params.a, f1.params.b});
    const auto p1 = clv::fit_paretonbd(one);
    expect_honest(p1.info, {p1.params.r, p1.params.alpha, p1.params.s, p1.params.beta});
    clv::PurchaseFitState huge;
    huge.add(0, 0, 1e9, 10);
    huge.add(2, 5e8, 1e9, 3);
    huge.add(1, 1, 1e9);
    const auto f2 = clv::fit_bgnbd(huge);
    expect_honest(f2.info, {f2.params.r, f2.params.alpha, f2.params.a, f2.params.b});
    const auto p2 = clv::fit_paretonbd(huge);
    expect_honest(p2.info, {p2.params.r, p2.params.alpha, p2.params.s, p2.params.beta});
}

TEST(ClvBgNbd, ScoringRejectsBadInput) {
    EXPECT_ERROR_KIND(clv::bgnbd_probability_alive(clv::BgNbdParams{0, 1, 1, 1}, 1, 1, 2), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(clv::bgnbd_probability_alive(kBg, 1.5, 1, 2), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(clv::bgnbd_probability_alive(kBg, 1, 3, 2), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(clv::bgnbd_expected_purchases(kBg, -1), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(clv::bgnbd_conditional_expected_purchases(kBg, NAN, 1, 1, 2), ErrorKind::InvalidParameter);
}

// ---- Pareto/NBD ----------------------------------------------------------------

// L = Gamma(r+x) alpha^r beta^s / Gamma(r) [(alpha+T)^-(r+x) (beta+T)^-s
//     + s int_{t_x}^T (alpha+y)^-(r+x) (beta+y)^-(s+1) dy]: dying at y in (t_x, T].
double pareto_ll_by_quadrature(const clv::ParetoNbdParams& p, double x, double t_x, double T) {
    const double rx = p.r + x;
    double integral = 0.0;
    if (T > t_x)
        integral = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
            [&](double y) { return std::pow(p.alpha + y, -rx) * std::pow(p.beta + y, -(p.s + 1)); }, t_x, T, 15, 1e-14);
    return std::lgamma(rx) - std::lgamma(p.r) + p.r * std::log(p.alpha) + p.s * std::log(p.beta) +
           std::log(std::pow(p.alpha + T, -rx) * std::pow(p.beta + T, -p.s) + p.s * integral);
}

TEST(ClvParetoNbd, LikelihoodMatchesTheDeathTimeIntegral) {
    for (const clv::ParetoNbdParams p : {clv::ParetoNbdParams{0.553, 10.578, 0.606, 11.669},
                                         clv::ParetoNbdParams{0.553, 30.0, 0.606, 2.0},
                                         clv::ParetoNbdParams{1.5, 2.0, 1.0, 40.0}}) {
        for (const auto& c : std::vector<std::array<double, 3>>{{0, 0, 38}, {2, 30.43, 38.86}, {10, 5, 5}, {1, 0.5, 70}}) {
            EXPECT_NEAR(clv::paretonbd_log_likelihood(p, c[0], c[1], c[2]), pareto_ll_by_quadrature(p, c[0], c[1], c[2]),
                        1e-9)
                << p.alpha << " " << p.beta << " x " << c[0];
        }
    }
}

TEST(ClvParetoNbd, PredictionsAgreeWithTheirDefinitions) {
    const clv::ParetoNbdParams p{0.553, 10.578, 0.606, 11.669};
    // P(alive) = the alive term's share of the likelihood.
    const double x = 2, t_x = 30.43, T = 38.86;
    const double alive_term = std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha) + p.s * std::log(p.beta) -
                              (p.r + x) * std::log(p.alpha + T) - p.s * std::log(p.beta + T);
    EXPECT_NEAR(clv::paretonbd_probability_alive(p, x, t_x, T),
                std::exp(alive_term - pareto_ll_by_quadrature(p, x, t_x, T)), 1e-10);
    EXPECT_NEAR(clv::paretonbd_probability_purchase(p, 10, x, t_x, T),
                1 - std::exp(pareto_ll_by_quadrature(p, x, t_x, T + 10) - pareto_ll_by_quadrature(p, x, t_x, T)), 1e-10);
    // E[X(t)] at s = 1 is the limit from both sides; at s = 2 the closed form.
    clv::ParetoNbdParams one = p;
    one.s = 1.0;
    const double at_one = clv::paretonbd_expected_purchases(one, 52);
    EXPECT_NEAR(at_one, p.r * p.beta / p.alpha * std::log1p(52 / p.beta), 1e-12);
    one.s = 1.0 + 1e-7;
    EXPECT_NEAR(clv::paretonbd_expected_purchases(one, 52), at_one, 1e-6);
    // E[X(t)] is the x = 0, T = 0 conditional expectation (alive for sure).
    EXPECT_NEAR(clv::paretonbd_conditional_expected_purchases(p, 52, 0, 0, 0), clv::paretonbd_expected_purchases(p, 52), 1e-12);
}

// ---- Gamma-Gamma -----------------------------------------------------------------

TEST(ClvGammaGamma, GradientAndExpectedSpend) {
    clv::SpendFitState s;
    s.add(1, 12.0, 3);
    s.add(2, 30.5);
    s.add(6, 18.25, 2);
    const clv::GammaGammaParams p{4.0, 2.5, 12.0};
    const clv::GammaGammaParams g = clv::gammagamma_log_likelihood_gradient(p, s);
    const double analytic[] = {g.p, g.q, g.gamma};
    for (int j = 0; j < 3; ++j) {
        clv::GammaGammaParams hi = p, lo = p;
        (&hi.p)[j] += 1e-6;
        (&lo.p)[j] -= 1e-6;
        const double numeric = (clv::gammagamma_log_likelihood(hi, s) - clv::gammagamma_log_likelihood(lo, s)) / 2e-6;
        EXPECT_NEAR(analytic[j], numeric, 1e-6 * (1 + std::fabs(numeric))) << j;
    }
    // The density integrates to 1 over m (x = 3).
    const double mass = boost::math::quadrature::tanh_sinh<double>().integrate(
        [&](double m) { return std::exp(clv::gammagamma_log_likelihood(p, 3, m)); }, 0.0, INFINITY);
    EXPECT_NEAR(mass, 1.0, 1e-8);
    EXPECT_NEAR(clv::gammagamma_expected_spend(p, 0, 0), p.p * p.gamma / (p.q - 1), 1e-12);
    EXPECT_NEAR(clv::gammagamma_expected_spend(p, 3, 20), p.p * (p.gamma + 60) / (3 * p.p + p.q - 1), 1e-12);
    EXPECT_ERROR_KIND(clv::gammagamma_expected_spend(clv::GammaGammaParams{1, 0.5, 1}, 0, 0), ErrorKind::OutOfRange);
    EXPECT_ERROR_KIND(clv::fit_gammagamma(clv::SpendFitState{}), ErrorKind::DataException);
}

// ---- value and churn ------------------------------------------------------------

TEST(ClvValue, TelescopesWithoutDiscountAndValidates) {
    clv::ClvOptions o;
    o.months = 12;
    o.monthly_discount = 0.0;
    o.margin = 0.3;
    o.month_length = 30;
    const double v = clv::customer_lifetime_value(kBg, 25.0, 2, 30.43, 38.86, o);
    EXPECT_NEAR(v, 0.3 * 25.0 * clv::bgnbd_conditional_expected_purchases(kBg, 360, 2, 30.43, 38.86), 1e-10);
    o.months = 0;
    EXPECT_EQ(clv::customer_lifetime_value(kBg, 25.0, 2, 30.43, 38.86, o), 0.0);
    o.months = -1;
    EXPECT_ERROR_KIND(clv::customer_lifetime_value(kBg, 25.0, 2, 30.43, 38.86, o), ErrorKind::InvalidParameter);
    o.months = 12;
    o.monthly_discount = -1;
    EXPECT_ERROR_KIND(clv::customer_lifetime_value(kBg, 25.0, 2, 30.43, 38.86, o), ErrorKind::InvalidParameter);
    o.monthly_discount = 0.01;
    const clv::ParetoNbdParams pn{0.553, 10.578, 0.606, 11.669};
    EXPECT_GT(clv::customer_lifetime_value(pn, 25.0, 2, 30.43, 38.86, o), 0.0);
}

TEST(ClvValue, ChurnTiers) {
    EXPECT_EQ(clv::churn_risk(0.1, 3.0), clv::ChurnRisk::High);
    EXPECT_EQ(clv::churn_risk(0.5, 3.0), clv::ChurnRisk::Medium);
    EXPECT_EQ(clv::churn_risk(0.9, 0.2), clv::ChurnRisk::Medium);
    EXPECT_EQ(clv::churn_risk(0.9, 2.0), clv::ChurnRisk::Low);
    EXPECT_STREQ(clv::churn_risk_name(clv::ChurnRisk::High), "high");
    EXPECT_ERROR_KIND(clv::churn_risk(1.5, 1.0), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(clv::churn_risk(0.5, -1.0), ErrorKind::InvalidParameter);
}

}  // namespace

// A cancel during a fit stops it (57014), whichever optimizer attempt is
// running: the restarts after a failed line search must not swallow it.
namespace {
int g_clv_checks = 0;
void cancel_after_fifty_checks() {
    if (++g_clv_checks > 50) crm::throw_error(crm::ErrorKind::QueryCanceled, "canceling statement due to user request");
}
}  // namespace

TEST(ClvFit, CancelStopsTheFit) {
    crm::clv::PurchaseFitState state;
    for (int c = 0; c < 300; ++c) state.add(c % 7, (c % 7) * 2.5, 20.0 + c % 11);
    g_clv_checks = 0;
    const auto previous = crm::set_interrupt_handler(&cancel_after_fifty_checks);
    EXPECT_ERROR_KIND(crm::clv::fit_paretonbd(state), crm::ErrorKind::QueryCanceled);
    g_clv_checks = 0;
    EXPECT_ERROR_KIND(crm::clv::fit_bgnbd(state), crm::ErrorKind::QueryCanceled);
    crm::set_interrupt_handler(previous);
}
