// Newton warming/cooling fits, breach times, time out of range, mean kinetic
// temperature and the reading series' byte format.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <memory_resource>
#include <optional>
#include <random>
#include <vector>

#include "byte_io.hpp"
#include "cold_chain.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "series_accumulator.hpp"
#include "interrupts.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEpoch = 1700000000.0;  // Unix-time-like: the fit must cope with large t

template <class F>
void expect_error(F&& f, crm::ErrorKind kind) {
    crm_test::expect_error_kind(std::forward<F>(f), kind);
}

void expect_rel(double actual, double expected, double rel) {
    EXPECT_NEAR(actual, expected, rel * std::abs(expected)) << "expected " << expected;
}

double curve(double t0, double ambient, double tau, double x) {
    return t0 + (ambient - t0) * (1.0 - std::exp(-x / tau));
}

// Noise-free readings at irregular whole-second gaps (60..299 s), shuffled,
// with some readings repeated and one time carrying two readings that
// average to the curve.
std::vector<crm::Reading> exact_readings(double t0, double ambient, double tau, int n) {
    std::vector<crm::Reading> out;
    double x = 0.0;
    for (int i = 0; i < n; ++i) {
        out.push_back({kEpoch + x, curve(t0, ambient, tau, x)});
        if (i % 7 == 3) out.push_back(out.back());  // logger sent it twice
        if (i == 10) {
            out.push_back({kEpoch + x, curve(t0, ambient, tau, x) + 0.25});
            out.push_back({kEpoch + x, curve(t0, ambient, tau, x) - 0.25});
        }
        x += 60.0 + (i * 37) % 240;
    }
    std::mt19937 rng(42);
    std::shuffle(out.begin(), out.end(), rng);
    return out;
}

TEST(ColdChainFit, RecoversNoiseFreeWarming) {
    const auto readings = exact_readings(2.0, 25.0, 1800.0, 60);
    const auto fit = crm::fit_cooling(readings);
    ASSERT_TRUE(fit.converged) << fit.note;
    EXPECT_EQ(fit.note, "");
    EXPECT_FALSE(fit.ambient_fixed);
    EXPECT_EQ(fit.n, 60);  // duplicates merged
    EXPECT_EQ(fit.start, kEpoch);
    expect_rel(fit.t0, 2.0, 1e-6);
    expect_rel(fit.ambient, 25.0, 1e-6);
    expect_rel(fit.tau, 1800.0, 1e-6);
    EXPECT_LT(fit.rmse, 1e-6);
    EXPECT_GT(fit.iterations, 0);
}

TEST(ColdChainFit, RecoversNoiseFreeCooling) {
    // Fast cooling: the series spans about 9 time constants.
    const auto readings = exact_readings(31.5, -18.0, 1200.0, 50);
    const auto fit = crm::fit_cooling(readings);
    ASSERT_TRUE(fit.converged) << fit.note;
    expect_rel(fit.t0, 31.5, 1e-6);
    expect_rel(fit.ambient, -18.0, 1e-6);
    expect_rel(fit.tau, 1200.0, 1e-6);

    const auto fixed = crm::fit_cooling(readings, -18.0);
    ASSERT_TRUE(fixed.converged) << fixed.note;
    EXPECT_TRUE(fixed.ambient_fixed);
    EXPECT_EQ(fixed.ambient, -18.0);
    expect_rel(fixed.t0, 31.5, 1e-6);
    expect_rel(fixed.tau, 1200.0, 1e-6);
}

TEST(ColdChainFit, RecoversSlowCurveSeenOnlyInPart) {
    // Only ~1.3 time constants observed: Ta must be extrapolated.
    const auto readings = exact_readings(5.0, 30.0, 10000.0, 60);
    const auto fit = crm::fit_cooling(readings);
    ASSERT_TRUE(fit.converged) << fit.note;
    expect_rel(fit.t0, 5.0, 1e-6);
    expect_rel(fit.ambient, 30.0, 1e-6);
    expect_rel(fit.tau, 10000.0, 1e-6);
}

// The noisy cases below come from test/reference/cold_chain_scipy.py (seed
// 20240611): readings and scipy.optimize.curve_fit estimates printed with
// repr() and pasted verbatim. Both fits find the same least-squares optimum.

// warming3: T0 = 3.5, Ta = 21, tau = 2100 s, noise sd 0.12; 3-parameter fit.
const std::vector<crm::Reading> kWarming3 = {
    {1700000000.0, 3.271558528629227},
    {1700000128.0, 4.429973517297443},
    {1700000548.0, 7.501932362657427},
    {1700000819.0, 9.135673386109643},
    {1700001180.0, 10.943386583794197},
    {1700001336.0, 11.73667205340945},
    {1700001436.0, 12.106307917807191},
    {1700001779.0, 13.639657238952818},
    {1700002026.0, 14.234110163726973},
    {1700002423.0, 15.487017952846308},
    {1700002715.0, 16.13775379084393},
    {1700002845.0, 16.58739493311503},
    {1700003088.0, 16.861633777425002},
    {1700003392.0, 17.62543419570804},
    {1700003734.0, 17.899769579071297},
    {1700003897.0, 18.09998883903278},
    {1700004242.0, 18.612713012264624},
    {1700004454.0, 18.912501298614284},
    {1700004819.0, 19.053732895081655},
    {1700005093.0, 19.391498797056318},
    {1700005209.0, 19.5347147903339},
    {1700005605.0, 19.782664385068415},
    {1700005898.0, 20.049974345107973},
    {1700006004.0, 20.090954585532533},
    {1700006396.0, 20.207599031456223},
    {1700006779.0, 20.416035895524928},
    {1700006963.0, 20.477375308292988},
    {1700007342.0, 20.33642930719721},
    {1700007502.0, 20.77067577513957},
    {1700007812.0, 20.57003432477635},
    {1700007892.0, 20.519044591694183},
    {1700008068.0, 20.696595666539164},
    {1700008234.0, 20.594482111275696},
    {1700008626.0, 20.78743831784928},
    {1700008739.0, 20.583089781520215},
    {1700008879.0, 20.83189063988874},
    {1700009107.0, 20.619434185880746},
    {1700009524.0, 20.85741172087826},
    {1700009781.0, 20.80835499479857},
    {1700009862.0, 20.780047186181218},
    {1700010103.0, 20.875917002710842},
    {1700010340.0, 20.803713885340798},
    {1700010426.0, 20.78522363079475},
    {1700010642.0, 20.937184345447204},
    {1700010893.0, 21.13395570371116},
};

// cooling2: T0 = 24, Ta = 6 (known), tau = 1500 s, noise sd 0.2; 2-parameter fit.
const std::vector<crm::Reading> kCooling2 = {
    {1700000000.0, 23.717491180037594},
    {1700000264.0, 20.88236608229948},
    {1700000424.0, 19.753184534368973},
    {1700000590.0, 18.108574707835697},
    {1700000932.0, 15.589920507581523},
    {1700001222.0, 14.128543740041668},
    {1700001439.0, 12.715494147553176},
    {1700001745.0, 11.946648898190034},
    {1700002009.0, 10.642722322486575},
    {1700002133.0, 10.239550667181794},
    {1700002492.0, 9.36490832072461},
    {1700002742.0, 8.900693207779007},
    {1700002938.0, 8.67906814058806},
    {1700003180.0, 8.020802172726398},
    {1700003392.0, 7.711000522102627},
    {1700003656.0, 7.580716094070891},
    {1700003778.0, 7.517994536098787},
    {1700003992.0, 7.432841444222869},
    {1700004269.0, 6.950020272877853},
    {1700004569.0, 7.049279652673114},
    {1700004702.0, 6.579278025956486},
    {1700005005.0, 6.9171506421864954},
    {1700005332.0, 6.296221888457324},
    {1700005686.0, 6.38919693305583},
    {1700005862.0, 6.400510065668666},
    {1700006069.0, 6.51749334859434},
    {1700006224.0, 6.575982242112078},
    {1700006608.0, 6.229662842033112},
    {1700006794.0, 6.5733104742754875},
    {1700007140.0, 5.990275888046534},
    {1700007489.0, 6.187592880235224},
    {1700007597.0, 6.066308161986285},
    {1700007873.0, 6.2090666962904075},
    {1700008139.0, 5.888840407962228},
    {1700008311.0, 5.851062955332632},
    {1700008571.0, 6.316022203521494},
};

// cooling3: T0 = 30, Ta = 4, tau = 900 s, noise sd 0.3, 14 readings; 3-parameter fit.
const std::vector<crm::Reading> kCooling3 = {
    {1700000000.0, 30.34511756965383},
    {1700000455.0, 19.798109755702267},
    {1700001026.0, 11.986067407887294},
    {1700001587.0, 8.259129013787337},
    {1700002037.0, 6.97982762759766},
    {1700002151.0, 5.97756151568527},
    {1700002355.0, 6.189587343197439},
    {1700002528.0, 5.57393163302313},
    {1700002682.0, 5.274947854802284},
    {1700002985.0, 5.202937967492062},
    {1700003086.0, 4.715749582556993},
    {1700003366.0, 4.6343406337998045},
    {1700003535.0, 5.00237223378122},
    {1700003983.0, 4.057695492109697},
};

TEST(ColdChainFit, NoisyWarmingMatchesScipy) {
    const auto fit = crm::fit_cooling(kWarming3);
    ASSERT_TRUE(fit.converged) << fit.note;
    EXPECT_EQ(fit.n, 45);
    expect_rel(fit.t0, 3.378513333618965, 1e-4);
    expect_rel(fit.ambient, 21.004048509493565, 1e-4);
    expect_rel(fit.tau, 2094.808264730405, 1e-4);
    expect_rel(fit.rmse, 0.10118905546170016, 1e-4);
}

TEST(ColdChainFit, NoisyCoolingWithKnownAmbientMatchesScipy) {
    const auto fit = crm::fit_cooling(kCooling2, 6.0);
    ASSERT_TRUE(fit.converged) << fit.note;
    EXPECT_TRUE(fit.ambient_fixed);
    EXPECT_EQ(fit.ambient, 6.0);
    expect_rel(fit.t0, 23.825371425045976, 1e-4);
    expect_rel(fit.tau, 1517.96556227874, 1e-4);
    expect_rel(fit.rmse, 0.1717323286571232, 1e-4);
}

TEST(ColdChainFit, NoisyShortCoolingMatchesScipyInAnyOrder) {
    auto readings = kCooling3;
    std::reverse(readings.begin(), readings.end());
    const auto fit = crm::fit_cooling(readings);
    ASSERT_TRUE(fit.converged) << fit.note;
    expect_rel(fit.t0, 30.378133338175438, 1e-4);
    expect_rel(fit.ambient, 4.165376633763682, 1e-4);
    expect_rel(fit.tau, 864.9755549477414, 1e-4);
    expect_rel(fit.rmse, 0.23594351585897622, 1e-4);
}

// A slow drift (goods in a broken fridge, warming by 0.6 degrees an hour for ten hours): tau is hundreds
// of times the series, so ambient and tau are barely identifiable apart and only the curve matters. The
// walk over tau reaches the minimum in about 25 profile passes (from the grid's edge,
// Levenberg-Marquardt took about 260 steps, 40 times as long), and the fit is at least as good as scipy's
// curve_fit (p0 = 5, 2000, 1e7; tolerances 1e-15): residual 0.07493510006906898, initial slope
// (Ta - T0) / tau = 1.6697e-4 degrees per second.
TEST(ColdChainFit, SlowDriftIsWalkedToNotLeftToLevenbergMarquardt) {
    std::vector<crm::Reading> readings;
    for (int m = 0; m < 600; ++m)
        readings.push_back({kEpoch + 60.0 * m, 5.0 + m / 100.0 + ((m * 7919) % 13) / 50.0});
    const auto fit = crm::fit_cooling(readings);
    ASSERT_TRUE(fit.converged) << fit.note;
    EXPECT_LT(fit.iterations, 60);
    EXPECT_LE(fit.rmse, 0.07493510006906898 * (1 + 1e-9));
    const double scipy_slope = (1755.1781529189327 - 5.117558723629109) / 10480984.962791305;
    expect_rel((fit.ambient - fit.t0) / fit.tau, scipy_slope, 1e-4);
    expect_rel(fit.t0, 5.117558723629109, 1e-4);
}

int g_interrupt_checks = 0;
void cancel_after_three_checks() {
    if (++g_interrupt_checks > 3) throw crm::Error(crm::ErrorKind::QueryCanceled, "canceling statement");
}

TEST(ColdChainFit, FitChecksForInterrupts) {
    g_interrupt_checks = 0;
    const auto previous = crm::set_interrupt_handler(&cancel_after_three_checks);
    expect_error([] { crm::fit_cooling(kWarming3); }, crm::ErrorKind::QueryCanceled);
    crm::set_interrupt_handler(previous);
    EXPECT_EQ(g_interrupt_checks, 4);
}

TEST(ColdChainFit, TooFewReadingsIsNotAnError) {
    const auto none = crm::fit_cooling({});
    EXPECT_FALSE(none.converged);
    EXPECT_EQ(none.note, "fewer than 3 readings");
    EXPECT_EQ(none.n, 0);
    EXPECT_TRUE(std::isnan(none.t0));

    // Three readings but two distinct times: (4 + 6) / 2 = 5 at t = 0, 9 at t = 60.
    const auto two = crm::fit_cooling({{0, 4}, {60, 9}, {0, 6}});
    EXPECT_FALSE(two.converged);
    EXPECT_EQ(two.note, "fewer than 3 readings");
    EXPECT_EQ(two.n, 2);
    EXPECT_EQ(two.start, 0.0);
    EXPECT_DOUBLE_EQ(two.t0, 7.0);
    EXPECT_DOUBLE_EQ(two.ambient, 7.0);
    EXPECT_DOUBLE_EQ(two.rmse, 2.0);
    EXPECT_TRUE(std::isnan(two.tau));
}

TEST(ColdChainFit, FlatSeriesIsNotAnError) {
    const auto fit = crm::fit_cooling({{0, 4.5}, {60, 4.5}, {120, 4.5}, {180, 4.5}});
    EXPECT_FALSE(fit.converged);
    EXPECT_EQ(fit.note, "flat series");
    EXPECT_EQ(fit.n, 4);
    EXPECT_DOUBLE_EQ(fit.t0, 4.5);
    EXPECT_DOUBLE_EQ(fit.ambient, 4.5);
    EXPECT_TRUE(std::isnan(fit.tau));
    EXPECT_ERROR_KIND(crm::predict_at(fit, 100), crm::ErrorKind::InvalidParameter);  // no curve to evaluate
}

TEST(ColdChainFit, NonFiniteReadingsAreInvalid) {
    const double nan = std::nan("");
    expect_error([&] { crm::fit_cooling({{0, 1}, {1, nan}, {2, 3}}); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::fit_cooling({{0, 1}, {nan, 2}, {2, 3}}); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::fit_cooling({{0, 1}, {kInf, 2}, {2, 3}}); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::fit_cooling({{0, -kInf}}); }, crm::ErrorKind::InvalidParameter);
}

TEST(ColdChainFit, NonFiniteKnownAmbientCountsAsNotGiven) {
    const auto fit = crm::fit_cooling(exact_readings(2.0, 25.0, 1800.0, 40), std::nan(""));
    ASSERT_TRUE(fit.converged) << fit.note;
    EXPECT_FALSE(fit.ambient_fixed);
    expect_rel(fit.ambient, 25.0, 1e-6);
}

TEST(ColdChainPredict, HandValues) {
    // 5 + 20 (1 - e^-1) = 17.642411176571153...
    EXPECT_NEAR(crm::predict_temperature(5, 25, 100, 100), 17.642411176571154, 1e-12);
    EXPECT_DOUBLE_EQ(crm::predict_temperature(5, 25, 100, 0), 5.0);
    // Half way after tau ln 2.
    EXPECT_NEAR(crm::predict_temperature(5, 25, 100, 100 * std::log(2.0)), 15.0, 1e-12);
    // Cooling: 20 + (4 - 20)(1 - e^-2) = 4 + 16 e^-2 = 6.165364531...
    EXPECT_NEAR(crm::predict_temperature(20, 4, 50, 100), 4 + 16 * std::exp(-2.0), 1e-12);
    EXPECT_NEAR(crm::predict_temperature(20, 4, 50, 1e9), 4.0, 1e-12);

    crm::CoolingFit fit;
    fit.t0 = 5;
    fit.ambient = 25;
    fit.tau = 100;
    fit.start = kEpoch;
    EXPECT_NEAR(crm::predict_at(fit, kEpoch + 100), 17.642411176571154, 1e-12);
}

TEST(ColdChainPredict, RejectsBadInput) {
    expect_error([] { crm::predict_temperature(5, 25, 0, 10); }, crm::ErrorKind::InvalidParameter);
    expect_error([] { crm::predict_temperature(5, 25, -3, 10); }, crm::ErrorKind::InvalidParameter);
    expect_error([] { crm::predict_temperature(5, 25, std::nan(""), 10); }, crm::ErrorKind::InvalidParameter);
    expect_error([] { crm::predict_temperature(kInf, 25, 100, 10); }, crm::ErrorKind::InvalidParameter);
    expect_error([] { crm::predict_temperature(5, 25, 100, std::nan("")); }, crm::ErrorKind::InvalidParameter);
    crm::CoolingFit no_curve;  // all NaN
    expect_error([&] { crm::predict_at(no_curve, 0); }, crm::ErrorKind::InvalidParameter);
}

crm::CoolingFit warming_fit() {
    crm::CoolingFit fit;
    fit.t0 = 2;
    fit.ambient = 20;
    fit.tau = 3600;
    fit.start = kEpoch;
    fit.converged = true;
    return fit;
}

TEST(ColdChainBreach, WarmingClosedForm) {
    const auto fit = warming_fit();
    // t = start - tau ln((Ta - L) / (Ta - T0)) = start + 3600 ln(18 / 12) = start + 1459.6743891...
    const auto t = crm::breach_time(fit, 8.0);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR(*t, kEpoch - 3600 * std::log((20.0 - 8.0) / (20.0 - 2.0)), 1e-6);
    EXPECT_NEAR(*t - kEpoch, 1459.6743891893918, 1e-6);
    EXPECT_NEAR(crm::predict_at(fit, *t), 8.0, 1e-9);
    // The same crossing when searching from an earlier point of the curve.
    const auto from_later = crm::breach_time(fit, 8.0, kEpoch + 600);
    ASSERT_TRUE(from_later.has_value());
    EXPECT_NEAR(*from_later, *t, 1e-6);
}

TEST(ColdChainBreach, NeverAndAlreadyBreached) {
    const auto fit = warming_fit();
    EXPECT_FALSE(crm::breach_time(fit, 25.0).has_value());  // beyond the ambient
    EXPECT_FALSE(crm::breach_time(fit, 20.0).has_value());  // the asymptote is never reached
    // At start + 1 h the curve is at 20 - 18/e = 13.378...: above 8 already.
    EXPECT_EQ(crm::breach_time(fit, 8.0, kEpoch + 3600), kEpoch + 3600);
    // Already above the limit at the start: an upper limit below T0.
    EXPECT_EQ(crm::breach_time(fit, 1.0), kEpoch);
    EXPECT_EQ(crm::breach_time(fit, 2.0), kEpoch);  // exactly at the limit
    // So far along the curve that T(from) rounds to the ambient exactly: still
    // above the limit it crossed long ago, and never reaching one beyond the ambient.
    const double much_later = kEpoch + 3600.0 * 1000;
    ASSERT_EQ(crm::predict_at(fit, much_later), 20.0);
    EXPECT_EQ(crm::breach_time(fit, 8.0, much_later), much_later);
    EXPECT_FALSE(crm::breach_time(fit, 25.0, much_later).has_value());
    expect_error([&] { crm::breach_time(fit, std::nan("")); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::breach_time(crm::CoolingFit{}, 8.0); }, crm::ErrorKind::InvalidParameter);
}

TEST(ColdChainBreach, CoolingCrossesDownward) {
    crm::CoolingFit fit;
    fit.t0 = 20;
    fit.ambient = -5;
    fit.tau = 1000;
    fit.start = 0;
    // 0 degC: -5 + 25 e^(-t/1000) = 0 at t = 1000 ln 5 = 1609.4379124341003
    const auto t = crm::breach_time(fit, 0.0);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR(*t, 1000 * std::log(5.0), 1e-9);
    EXPECT_FALSE(crm::breach_time(fit, -6.0).has_value());
    EXPECT_EQ(crm::breach_time(fit, 25.0), 0.0);  // below this lower limit from the start
}

TEST(ColdChainTimeBeyond, TriangleAndTrapezoid) {
    // Triangle 0 -> 10 -> 0 over 20 s: above 5 from t = 5 to t = 15.
    const std::vector<crm::Reading> triangle = {{0, 0}, {10, 10}, {20, 0}};
    EXPECT_DOUBLE_EQ(crm::time_beyond(triangle, 5, true), 10.0);
    EXPECT_DOUBLE_EQ(crm::time_beyond(triangle, 5, false), 10.0);
    EXPECT_DOUBLE_EQ(crm::time_beyond(triangle, 10, true), 0.0);  // touches, never strictly above
    EXPECT_DOUBLE_EQ(crm::time_beyond(triangle, 0, false), 0.0);
    // Trapezoid 2 -> 8 -> 8 -> 2 at t = 0, 10, 20, 30, limit 5: crossings at
    // t = 5 (half way up) and t = 25: 20 s above, 5 + 5 = 10 s below.
    const std::vector<crm::Reading> trapezoid = {{0, 2}, {10, 8}, {20, 8}, {30, 2}};
    EXPECT_DOUBLE_EQ(crm::time_beyond(trapezoid, 5, true), 20.0);
    EXPECT_DOUBLE_EQ(crm::time_beyond(trapezoid, 5, false), 10.0);
    // Limit 7: 2 -> 8 crosses 7 at 5/6 of the way, t = 8.333..; back at t = 21.666..
    EXPECT_NEAR(crm::time_beyond(trapezoid, 7, true), 40.0 / 3.0, 1e-12);
    EXPECT_DOUBLE_EQ(crm::time_beyond(trapezoid, 9, true), 0.0);
    EXPECT_DOUBLE_EQ(crm::time_beyond(trapezoid, 9, false), 30.0);
    // Irregular spacing, starting exactly at the limit: 4 -> 6 over 30 s above 4.
    EXPECT_DOUBLE_EQ(crm::time_beyond({{100, 4}, {130, 6}}, 4, true), 30.0);
}

TEST(ColdChainTimeBeyond, EdgeCases) {
    EXPECT_EQ(crm::time_beyond({}, 5, true), 0.0);
    EXPECT_EQ(crm::time_beyond({{0, 100}}, 5, true), 0.0);
    expect_error([] { crm::time_beyond({{10, 1}, {0, 2}}, 5, true); }, crm::ErrorKind::InvalidParameter);
    expect_error([] { crm::time_beyond({{0, 1}, {1, 2}}, std::nan(""), true); },
                 crm::ErrorKind::InvalidParameter);
}

TEST(ColdChainMkt, HandComputedTwoReadings) {
    // 20 and 30 degC, equally spaced, so equal weights.
    // dH/R = 83144 / 8.314462618 = 9999.924687856718 K
    // exp(-9999.924687856718 / 293.15) = exp(-34.11197232767088) = 1.5323523942746658e-15
    // exp(-9999.924687856718 / 303.15) = exp(-32.98672171484980) = 4.7211606984780235e-15
    // mean = 3.1267565463763446e-15, ln(mean) = -33.39878017479802
    // MKT = 9999.924687856718 / 33.39878017479802 = 299.40987771171473 K = 26.25987771171473 degC
    // (the reference script checks this with mpmath to 30 digits: 26.2598777117147275889...)
    const std::vector<crm::Reading> r = {{0, 20}, {3600, 30}};
    EXPECT_NEAR(crm::mean_kinetic_temperature(r), 26.259877711714728, 1e-9);
    // Above the arithmetic mean, as MKT always is for unequal readings.
    EXPECT_GT(crm::mean_kinetic_temperature(r), 25.0);
}

double textbook_mkt(const std::vector<double>& celsius, const std::vector<double>& weights) {
    const double k = 83144.0 / 8.314462618;
    double s = 0.0, w = 0.0;
    for (std::size_t i = 0; i < celsius.size(); ++i) {
        s += weights[i] * std::exp(-k / (celsius[i] + 273.15));
        w += weights[i];
    }
    return k / -std::log(s / w) - 273.15;
}

TEST(ColdChainMkt, WeightsAndConstants) {
    // A constant series gives the constant.
    EXPECT_NEAR(crm::mean_kinetic_temperature({{0, 5}, {60, 5}, {300, 5}, {310, 5}}), 5.0, 1e-9);
    EXPECT_NEAR(crm::mean_kinetic_temperature({{0, -18}}), -18.0, 1e-9);
    // Equal spacing: the textbook unweighted formula, ends included at full weight.
    EXPECT_NEAR(crm::mean_kinetic_temperature({{0, 2}, {900, 8}, {1800, 25}, {2700, 4}}),
                textbook_mkt({2, 8, 25, 4}, {1, 1, 1, 1}), 1e-9);
    // Irregular: gaps 10 and 20 give weights 10 (mirrored), 15, 20 (mirrored).
    EXPECT_NEAR(crm::mean_kinetic_temperature({{0, 20}, {10, 30}, {30, 20}}),
                textbook_mkt({20, 30, 20}, {10, 15, 20}), 1e-9);
    // Another activation energy: dH = 60 kJ/mol.
    EXPECT_NEAR(crm::mean_kinetic_temperature({{0, 20}, {3600, 30}}, 60000.0),
                [] {
                    const double k = 60000.0 / 8.314462618;
                    return k / -std::log((std::exp(-k / 293.15) + std::exp(-k / 303.15)) / 2) - 273.15;
                }(),
                1e-9);
    // A huge activation energy underflows exp(); log-sum-exp must not.
    const double hot = crm::mean_kinetic_temperature({{0, 20}, {1, 30}}, 1e8);
    EXPECT_TRUE(std::isfinite(hot));
    EXPECT_GT(hot, 29.0);
    EXPECT_LE(hot, 30.0);
}

TEST(ColdChainMkt, RejectsBadInput) {
    const std::vector<crm::Reading> r = {{0, 20}, {1, 30}};
    expect_error([&] { crm::mean_kinetic_temperature(r, 0.0); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::mean_kinetic_temperature(r, -5.0); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::mean_kinetic_temperature({{0, -300}}); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::mean_kinetic_temperature({}); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { crm::mean_kinetic_temperature({{5, 1}, {0, 1}}); }, crm::ErrorKind::InvalidParameter);
    EXPECT_NEAR(crm::mean_kinetic_temperature({{0, -273.15}}), -273.15, 1e-12);
}

// The adapter's shortcut for sorted, deduplicated readings gives fit_cooling's fit, and takes the full
// path for anything else.
TEST(FitCoolingSorted, SameFitAsTheFullPath) {
    std::vector<crm::Reading> sorted;
    for (int i = 0; i < 300; ++i)
        sorted.push_back({60.0 * i, 20.0 - 15.0 * std::exp(-60.0 * i / 3600.0) + ((i * 7919) % 13 - 6) / 100.0});
    const auto same = [](const crm::CoolingFit& a, const crm::CoolingFit& b) {
        EXPECT_EQ(a.t0, b.t0);
        EXPECT_EQ(a.ambient, b.ambient);
        EXPECT_EQ(a.tau, b.tau);
        EXPECT_EQ(a.rmse, b.rmse);
        EXPECT_EQ(a.n, b.n);
        EXPECT_EQ(a.converged, b.converged);
    };
    same(crm::fit_cooling_sorted(sorted), crm::fit_cooling(sorted));
    same(crm::fit_cooling_sorted(sorted, 20.0), crm::fit_cooling(sorted, 20.0));
    std::vector<crm::Reading> shuffled = sorted;
    std::reverse(shuffled.begin(), shuffled.end());
    shuffled.push_back(sorted[5]);  // a time twice
    same(crm::fit_cooling_sorted(shuffled), crm::fit_cooling(shuffled));
    EXPECT_ERROR_KIND(crm::fit_cooling_sorted({{0, 1}, {1, std::nan("")}, {2, 3}}), crm::ErrorKind::InvalidParameter);
}

TEST(ReadingSeries, AddMergeAndDeduplicate) {
    crm::ReadingSeries a, b;
    a.add(120, 5);
    a.add(0, 2);
    b.add(60, 3);
    b.add(0, 4);
    a.merge(b);
    EXPECT_EQ(a.size(), 4u);
    const auto r = a.sorted_deduplicated();
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].t, 0.0);
    EXPECT_EQ(r[0].temperature, 3.0);  // (2 + 4) / 2
    EXPECT_EQ(r[1].t, 60.0);
    EXPECT_EQ(r[1].temperature, 3.0);
    EXPECT_EQ(r[2].t, 120.0);
    EXPECT_EQ(r[2].temperature, 5.0);
    // Merge order does not change the result.
    crm::ReadingSeries c = b;
    crm::ReadingSeries a_only;
    a_only.add(120, 5);
    a_only.add(0, 2);
    c.merge(a_only);
    const auto r2 = c.sorted_deduplicated();
    ASSERT_EQ(r2.size(), r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r2[i].t, r[i].t);
        EXPECT_EQ(r2[i].temperature, r[i].temperature);
    }
    // Merging with itself doubles every reading.
    c.merge(c);
    EXPECT_EQ(c.size(), 8u);
    EXPECT_EQ(c.sorted_deduplicated().size(), 3u);
    EXPECT_ERROR_KIND(a.add(std::nan(""), 1), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(a.add(1, kInf), crm::ErrorKind::InvalidParameter);
    EXPECT_EQ(a.size(), 4u);
}

// Counts what a series allocates, so the tests see leaks and what memory_bytes() reports.
class CountingResource : public std::pmr::memory_resource {
public:
    std::size_t live_bytes = 0;
    std::size_t allocations = 0;

private:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        live_bytes += bytes;
        ++allocations;
        return std::pmr::new_delete_resource()->allocate(bytes, alignment);
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
        live_bytes -= bytes;
        std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
    }
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }
};

// Many readings span many blocks; copies, moves between resources and merges
// keep every reading, and every byte is given back.
TEST(ReadingSeries, BlocksCopiesAndMovesAcrossResources) {
    CountingResource here, there;
    std::mt19937_64 rng(5);
    std::vector<crm::Reading> expected;
    {
        crm::ReadingSeries a(&here);
        for (int i = 0; i < 1000; ++i) {
            const double t = static_cast<double>(rng() % 100000), temp = static_cast<double>(rng() % 1000) / 10.0;
            a.add(t, temp);
        }
        EXPECT_EQ(a.size(), 1000u);
        EXPECT_EQ(a.memory_bytes(), here.live_bytes);
        // Blocks of one size: little slack over 16 bytes per reading.
        EXPECT_LE(a.memory_bytes(), 1000u * 16 * 5 / 4);
        expected = a.sorted_deduplicated();

        crm::ReadingSeries b(&there);
        b = std::move(a);  // another resource: copied into it
        EXPECT_EQ(b.size(), 1000u);
        EXPECT_EQ(b.memory_bytes(), there.live_bytes);
        crm::ReadingSeries c(&there);
        c = std::move(b);  // the same resource: taken over
        EXPECT_EQ(b.size(), 0u);
        EXPECT_EQ(c.memory_bytes(), there.live_bytes);
        const crm::ReadingSeries d = c;  // a copy, in the default resource
        const auto got = d.sorted_deduplicated();
        ASSERT_EQ(got.size(), expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].t, expected[i].t);
            EXPECT_EQ(got[i].temperature, expected[i].temperature);
        }
        c.merge(d);
        c.merge(c);
        EXPECT_EQ(c.size(), 4000u);
        EXPECT_EQ(c.sorted_deduplicated().size(), expected.size());
        const auto bytes = c.serialize();
        const auto back = crm::ReadingSeries::deserialize(bytes.data(), bytes.size(), &here);
        EXPECT_EQ(back.size(), 4000u);
        EXPECT_EQ(back.serialize(), bytes);
    }
    EXPECT_EQ(here.live_bytes, 0u);
    EXPECT_EQ(there.live_bytes, 0u);
}

// Partial states merged in the leader: a few time-ordered runs, sharing times across runs, merged out of
// the blocks (pairwise, in one or more rounds, an odd run left over; past 16 runs, sorted). The result is
// the one a full sort and averaging gives.
TEST(ReadingSeries, MergedRunsDeduplicateAsASortWould) {
    for (const int n_parts : {1, 2, 3, 5, 8, 16, 17}) {
        std::vector<crm::ReadingSeries> parts(static_cast<std::size_t>(n_parts));
        std::vector<crm::Reading> all;
        for (int p = 0; p < n_parts; ++p)
            for (int i = 0; i < 700; ++i) {
                const crm::Reading r{10.0 * (i + (i * p) % 3), 1.0 + ((i * 31 + p * 7) % 97) / 8.0};
                parts[static_cast<std::size_t>(p)].add(r.t, r.temperature);  // each part in time order
                all.push_back(r);
            }
        crm::ReadingSeries merged;
        for (const auto& part : parts) {
            const auto bytes = part.serialize();
            merged.merge(crm::ReadingSeries::deserialize(bytes.data(), bytes.size()));
        }
        std::sort(all.begin(), all.end(), [](const crm::Reading& a, const crm::Reading& b) {
            return a.t < b.t || (a.t == b.t && a.temperature < b.temperature);
        });
        std::vector<crm::Reading> expected;
        for (std::size_t i = 0; i < all.size();) {
            std::size_t j = i;
            double sum = 0.0;
            while (j < all.size() && all[j].t == all[i].t) sum += all[j++].temperature;
            expected.push_back({all[i].t, sum / static_cast<double>(j - i)});
            i = j;
        }
        const auto got = merged.sorted_deduplicated();
        ASSERT_EQ(got.size(), expected.size()) << n_parts << " parts";
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].t, expected[i].t) << n_parts << " parts";
            EXPECT_EQ(got[i].temperature, expected[i].temperature) << n_parts << " parts, reading " << i;
        }
    }
}

// Readings queued in a batch for many interleaved states reach each state in
// the order they were pushed: the same series, to the byte, as adding each at
// once; grew() runs exactly when a state takes a new block.
TEST(ReadingBatch, FlushGivesWhatDirectAddsGive) {
    constexpr int kStates = 37;
    std::vector<crm::SeriesAccumulator> batched(kStates), direct(kStates);
    auto batch = std::make_unique<crm::ReadingBatch>();
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int> pick(0, kStates - 1);
    std::size_t grew = 0, grew_direct = 0, flushes = 0;
    const auto count_growth = [&grew](const crm::SeriesAccumulator&) { ++grew; };
    for (int i = 0; i < 5 * static_cast<int>(crm::ReadingBatch::kCapacity) + 123; ++i) {
        const auto s = static_cast<std::size_t>(pick(rng));
        const double t = 30.0 * (i % 977), temperature = 4.0 + (i % 41) * 0.125;
        if (direct[s].series().add(t, temperature)) ++grew_direct;
        if (batch->push(&batched[s], t, temperature)) {
            batch->flush(count_growth);
            ++flushes;
        }
    }
    EXPECT_EQ(flushes, 5u);
    EXPECT_FALSE(batch->empty());
    batch->flush(count_growth);
    EXPECT_TRUE(batch->empty());
    EXPECT_EQ(grew, grew_direct);
    for (int s = 0; s < kStates; ++s) {
        const auto i = static_cast<std::size_t>(s);
        EXPECT_EQ(batched[i].series().size(), direct[i].series().size());
        EXPECT_EQ(batched[i].serialize(), direct[i].serialize()) << "state " << s;
    }
}

// A copy or a moved-to state owns all its readings: it does not share the
// original's batch; an assignment keeps the target's own batch.
TEST(ReadingBatch, CopiesDoNotShareTheBatch) {
    auto batch = std::make_unique<crm::ReadingBatch>();
    crm::SeriesAccumulator state;
    state.set_batch(batch.get());
    const crm::SeriesAccumulator copy(state);
    EXPECT_EQ(copy.batch(), nullptr);
    crm::SeriesAccumulator moved(std::move(state));
    EXPECT_EQ(moved.batch(), nullptr);
    crm::SeriesAccumulator target;
    target.set_batch(batch.get());
    target = copy;
    EXPECT_EQ(target.batch(), batch.get());
}

TEST(ReadingBatch, RejectsNonFiniteReadingsAndClears) {
    crm::SeriesAccumulator state;
    auto batch = std::make_unique<crm::ReadingBatch>();
    expect_error([&] { batch->push(&state, std::nan(""), 1.0); }, crm::ErrorKind::InvalidParameter);
    expect_error([&] { batch->push(&state, 1.0, kInf); }, crm::ErrorKind::InvalidParameter);
    EXPECT_TRUE(batch->empty());
    batch->push(&state, 1.0, 2.0);
    batch->clear();  // the states are gone: nothing reaches them
    batch->flush([](const crm::SeriesAccumulator&) {});
    EXPECT_EQ(state.series().size(), 0u);
}

// A series kept in time order is written straight from its blocks; one added
// out of order is sorted first: the same bytes either way.
TEST(ReadingSeries, SortedAndUnsortedSeriesSerialiseAlike) {
    crm::ReadingSeries forward, backward;
    for (int i = 0; i < 1000; ++i) forward.add(30.0 * i, 5.0 + (i % 7) * 0.25);
    for (int i = 999; i >= 0; --i) backward.add(30.0 * i, 5.0 + (i % 7) * 0.25);
    const auto bytes = forward.serialize();
    EXPECT_EQ(bytes, backward.serialize());
    // A small series: the times as an array too.
    EXPECT_EQ(bytes.size(), 3u + 2 * (8 + 8 * 1000));
    const auto back = crm::ReadingSeries::deserialize(bytes.data(), bytes.size()).sorted_deduplicated();
    ASSERT_EQ(back.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(back[static_cast<std::size_t>(i)].t, 30.0 * i);
        EXPECT_EQ(back[static_cast<std::size_t>(i)].temperature, 5.0 + (i % 7) * 0.25);
    }
    // Readings sharing times (a fleet's readings in one group) are runs of step 0, once the series
    // is large.
    crm::ReadingSeries shared;
    for (int i = 0; i < 100000; ++i) shared.add(60.0 * (i / 1000), i % 13);
    const auto shared_bytes = shared.serialize();
    EXPECT_EQ(shared_bytes.size(), 3u + 8 + 8 + 24 * 100 + 8 + 8 * 100000);
    const auto again = crm::ReadingSeries::deserialize(shared_bytes.data(), shared_bytes.size());
    EXPECT_EQ(again.serialize(), shared_bytes);
    EXPECT_EQ(again.sorted_deduplicated().size(), 100u);
}

TEST(ReadingSeries, SerialisationRoundTrips) {
    crm::ReadingSeries s;
    for (const auto& r : kCooling3) s.add(r.t, r.temperature);
    s.add(kEpoch, -0.0);
    const auto bytes = s.serialize();
    // tag 'C', version 2, times written raw (0: irregular times), then two length-prefixed
    // little-endian f64 arrays.
    ASSERT_EQ(bytes.size(), 3u + 2 * (8 + 8 * 15));
    EXPECT_EQ(bytes[0], 0x43);
    EXPECT_EQ(bytes[1], 2);
    EXPECT_EQ(bytes[2], 0);
    EXPECT_EQ(bytes[3], 15);
    // Version 1 (no encoding byte) is still read.
    std::vector<std::uint8_t> v1(bytes);
    v1.erase(v1.begin() + 2);
    v1[1] = 1;
    EXPECT_EQ(crm::ReadingSeries::deserialize(v1.data(), v1.size()).serialize(), bytes);
    const auto back = crm::ReadingSeries::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.size(), s.size());
    EXPECT_EQ(back.serialize(), bytes);
    const auto a = s.sorted_deduplicated(), b = back.sorted_deduplicated();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].t, b[i].t);
        EXPECT_EQ(a[i].temperature, b[i].temperature);
    }
    // An empty series round-trips too.
    const auto empty = crm::ReadingSeries().serialize();
    EXPECT_EQ(crm::ReadingSeries::deserialize(empty.data(), empty.size()).size(), 0u);
}

TEST(ReadingSeries, CorruptBytesAreErrorsNotCrashes) {
    crm::ReadingSeries s;
    for (int i = 0; i < 5; ++i) s.add(kEpoch + 60 * i, 4.0 + i);
    const auto bytes = s.serialize();
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        // A copy of exactly `cut` bytes, so reading past it is caught by sanitizers.
        const std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        expect_error([&] { crm::ReadingSeries::deserialize(part.data(), part.size()); },
                     crm::ErrorKind::InvalidBinary);
    }
    auto trailing = bytes;
    trailing.push_back(0);
    expect_error([&] { crm::ReadingSeries::deserialize(trailing.data(), trailing.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto wrong_tag = bytes;
    wrong_tag[0] = 0x52;  // another kind of value (an RFM sample): the wrong state, not a corrupted one
    expect_error([&] { crm::ReadingSeries::deserialize(wrong_tag.data(), wrong_tag.size()); },
                 crm::ErrorKind::InvalidParameter);
    wrong_tag[0] = 0xEE;  // no known kind: corrupted
    expect_error([&] { crm::ReadingSeries::deserialize(wrong_tag.data(), wrong_tag.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto wrong_version = bytes;
    wrong_version[1] = 3;
    expect_error([&] { crm::ReadingSeries::deserialize(wrong_version.data(), wrong_version.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto huge_length = bytes;
    huge_length[3 + 7] = 0xFF;  // first array's length, top byte
    expect_error([&] { crm::ReadingSeries::deserialize(huge_length.data(), huge_length.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto mismatched = bytes;
    mismatched[3] = 4;  // 4 times but the bytes of 5: the second length lands mid-array
    expect_error([&] { crm::ReadingSeries::deserialize(mismatched.data(), mismatched.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto nan_value = bytes;
    for (int i = 0; i < 8; ++i) nan_value[3 + 8 + i] = 0xFF;  // first time becomes a NaN
    expect_error([&] { crm::ReadingSeries::deserialize(nan_value.data(), nan_value.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto unknown_encoding = bytes;
    unknown_encoding[2] = 7;
    expect_error([&] { crm::ReadingSeries::deserialize(unknown_encoding.data(), unknown_encoding.size()); },
                 crm::ErrorKind::InvalidBinary);

    // Times as runs: 70,000 evenly spaced readings (a large series) are one run (start, step, count).
    crm::ReadingSeries even;
    for (int i = 0; i < 70000; ++i) even.add(kEpoch + 30.0 * i, 4.0 + (i % 5));
    const auto runs = even.serialize();
    ASSERT_EQ(runs.size(), 3u + 8 + 8 + 24 + 8 + 8 * 70000);
    EXPECT_EQ(runs[2], 1);
    for (std::size_t cut = 0; cut < runs.size(); cut += 9973) {
        const std::vector<std::uint8_t> part(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(cut));
        expect_error([&] { crm::ReadingSeries::deserialize(part.data(), part.size()); }, crm::ErrorKind::InvalidBinary);
    }
    auto count_off = runs;
    count_off[3 + 8 + 8 + 16] ^= 1;  // the run's count no longer adds up to n
    expect_error([&] { crm::ReadingSeries::deserialize(count_off.data(), count_off.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto many_runs = runs;
    many_runs[3 + 8 + 7] = 0x7F;  // the number of runs, top byte
    expect_error([&] { crm::ReadingSeries::deserialize(many_runs.data(), many_runs.size()); },
                 crm::ErrorKind::InvalidBinary);
    auto nan_step = runs;
    for (int i = 0; i < 8; ++i) nan_step[3 + 8 + 8 + 8 + i] = 0xFF;  // the step becomes a NaN
    expect_error([&] { crm::ReadingSeries::deserialize(nan_step.data(), nan_step.size()); },
                 crm::ErrorKind::InvalidBinary);
}

}  // namespace

// One kind per partial state: the cold-chain aggregates share one state
// format, so each state carries its aggregate's kind.
TEST(SeriesAccumulator, KindIsCarriedAndCheckedOnMerge) {
    EXPECT_EQ(crm::series_kind_of_aggregate("temp_fit"), crm::SeriesKind::TempFit);
    EXPECT_EQ(crm::series_kind_of_aggregate("time_above_partial"), crm::SeriesKind::TimeAbove);
    EXPECT_EQ(crm::series_kind_of_aggregate("mean_kinetic_temperature_combine"),
              crm::SeriesKind::MeanKineticTemperature);
    EXPECT_EQ(crm::series_kind_of_aggregate("time_above_partial_x"), crm::SeriesKind::Unknown);
    crm::SeriesAccumulator above;
    above.set_kind(crm::SeriesKind::TimeAbove);
    above.set_parameters({8.0}, nullptr);
    above.series().add(1.0, 9.0);
    const auto bytes = above.serialize();
    const auto back = crm::SeriesAccumulator::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.kind(), crm::SeriesKind::TimeAbove);
    crm::SeriesAccumulator fit;
    fit.set_kind(crm::SeriesKind::TempFit);
    crm_test::expect_error_kind([&] { fit.merge(back); }, crm::ErrorKind::InvalidParameter);
    crm::SeriesAccumulator same;
    same.set_kind(crm::SeriesKind::TimeAbove);
    same.merge(back);
    EXPECT_EQ(same.parameters(), std::vector<double>{8.0});
    // A 0.1.0 state (format version 1, no kind byte) is refused with advice, never misread.
    std::vector<std::uint8_t> old(bytes);
    old.erase(old.begin() + 2);
    old[1] = 1;
    crm_test::expect_error_kind([&] { crm::SeriesAccumulator::deserialize(old.data(), old.size()); }, crm::ErrorKind::InvalidParameter);
}

// ---------------------------------------------------------------------------
// Shipment status (crm.cold_chain_alerts), against hand-computed cases.

namespace {

crm::CoolingFit hand_fit(double t0, double ambient, double tau) {
    crm::CoolingFit f;
    f.t0 = t0;
    f.ambient = ambient;
    f.tau = tau;
    f.start = 0;
    f.n = 10;
    f.converged = true;
    return f;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// 2 -> 12 with tau = 1 h reaches 10 when exp(-t / tau) = 0.2: t = 3600 ln 5.
const double kReach10 = 3600.0 * std::log(5.0);

TEST(ShipmentStatus, BreachedWhenTheLastReadingIsOutside) {
    const crm::CoolingFit fit = hand_fit(2, 12, 3600);
    crm::ShipmentStatus s = crm::shipment_status(fit, {3600, 9.0}, 8, kNaN, 3600, 3600);
    EXPECT_EQ(s.state, crm::ShipmentState::Breached);
    EXPECT_FALSE(s.breach_at);
    s = crm::shipment_status(fit, {3600, 1.0}, kNaN, 2, 3600, 3600);
    EXPECT_EQ(s.state, crm::ShipmentState::Breached);
    EXPECT_STREQ(crm::shipment_state_name(s.state), "breached");
}

TEST(ShipmentStatus, WarmingCurveForecastAgainstTheHorizon) {
    const crm::CoolingFit fit = hand_fit(2, 12, 3600);
    const crm::Reading last{3600, crm::predict_at(fit, 3600)};  // 8.32
    // Breach at 5794 s: within as_of 3600 + horizon 3600, not within + 1000.
    crm::ShipmentStatus s = crm::shipment_status(fit, last, 10, 0, 3600, 3600);
    EXPECT_EQ(s.state, crm::ShipmentState::WillBreach);
    ASSERT_TRUE(s.breach_at);
    EXPECT_NEAR(*s.breach_at, kReach10, 1e-6);
    EXPECT_STREQ(crm::shipment_state_name(s.state), "will breach within horizon");
    s = crm::shipment_status(fit, last, 10, 0, 3600, 1000);
    EXPECT_EQ(s.state, crm::ShipmentState::Ok);
    ASSERT_TRUE(s.breach_at);  // still forecast, after the horizon
    EXPECT_NEAR(*s.breach_at, kReach10, 1e-6);
    // A warming curve never crosses a limit at its ambient, nor the lower one.
    s = crm::shipment_status(fit, last, 12, 0, 3600, 1e9);
    EXPECT_EQ(s.state, crm::ShipmentState::Ok);
    EXPECT_FALSE(s.breach_at);
    s = crm::shipment_status(fit, last, kNaN, 5, 3600, 1e9);
    EXPECT_EQ(s.state, crm::ShipmentState::Ok);
    EXPECT_FALSE(s.breach_at);
    EXPECT_STREQ(crm::shipment_state_name(s.state), "ok");
}

TEST(ShipmentStatus, CoolingCurveHeadsForTheLowerLimit) {
    const crm::CoolingFit fit = hand_fit(12, 2, 3600);  // reaches 4 at 3600 ln 5 too
    const crm::Reading last{3600, crm::predict_at(fit, 3600)};
    const crm::ShipmentStatus s = crm::shipment_status(fit, last, 20, 4, 3600, 3600);
    EXPECT_EQ(s.state, crm::ShipmentState::WillBreach);
    ASSERT_TRUE(s.breach_at);
    EXPECT_NEAR(*s.breach_at, kReach10, 1e-6);
}

TEST(ShipmentStatus, UnusableFitsAndFarForecasts) {
    crm::CoolingFit fit = hand_fit(2, 12, 3600);
    fit.converged = false;  // not converged but usable: n >= 3, finite, tau > 0
    EXPECT_EQ(crm::shipment_status(fit, {3600, 8.0}, 10, kNaN, 3600, 3600).state, crm::ShipmentState::WillBreach);
    fit.n = 2;
    fit.note = "fewer than 3 readings";
    crm::ShipmentStatus s = crm::shipment_status(fit, {3600, 8.0}, 10, kNaN, 3600, 3600);
    EXPECT_EQ(s.state, crm::ShipmentState::InsufficientData);
    EXPECT_FALSE(s.breach_at);
    EXPECT_STREQ(crm::shipment_state_name(s.state), "insufficient data");
    fit = crm::CoolingFit();
    fit.n = 5;
    fit.note = "flat series";
    EXPECT_EQ(crm::shipment_status(fit, {3600, 5.0}, 10, 0, 3600, 3600).state, crm::ShipmentState::Ok);
    // tau = 1e12 s: the limit is reached after 50,000 years, beyond the century cut.
    s = crm::shipment_status(hand_fit(2, 12, 1e12), {3600, 2.0}, 10, kNaN, 3600, 1e30);
    EXPECT_EQ(s.state, crm::ShipmentState::Ok);
    EXPECT_FALSE(s.breach_at);
}

}  // namespace
