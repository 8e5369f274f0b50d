#include "cold_chain.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <limits>
#include <utility>

#include <Eigen/Dense>
#include <unsupported/Eigen/LevenbergMarquardt>

#include "byte_io.hpp"
#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

void throw_not_finite_reading(double v, const char* what) {
    throw_invalid(std::string(what) + " must be a finite number, got " +
                  (std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")));
}

namespace {

// Version 1: the times and the temperatures as two arrays. Version 2: a byte
// saying how the times are written (kRawTimes: an array; kTimeRuns: runs of
// evenly spaced times, which a logger's fixed interval or readings sharing a
// time make few), then the temperatures. Both are read.
constexpr std::uint8_t kSeriesVersion = 2;
constexpr std::uint8_t kRawTimes = 0;
constexpr std::uint8_t kTimeRuns = 1;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kGasConstant = 8.314462618;  // J/(mol K), CODATA 2018 (exact SI value, truncated)
constexpr double kZeroCelsius = 273.15;       // K

// Inlined where readings are added (every row of an aggregate); the error is out of line.
inline void check_finite(double v, const char* what) {
    if (__builtin_expect(!std::isfinite(v), 0)) throw_not_finite_reading(v, what);
}

void check_reading(const Reading& r) {
    check_finite(r.t, "reading time");
    check_finite(r.temperature, "temperature");
}

// Validates what time_beyond and mean_kinetic_temperature are given: finite
// values in time order. Sorting is the caller's job (sorted_deduplicated), so
// unsorted input is a bug to report, not to paper over.
void check_sorted(const std::vector<Reading>& sorted) {
    InterruptTicker ticker;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        check_reading(sorted[i]);
        if (i > 0 && sorted[i].t < sorted[i - 1].t)
            throw_invalid("readings must be sorted by time", "Use the readings in time order.");
        ticker.tick();
    }
}

// Mean of the equal-time run [first, last); sums plainly unless that overflows.
double run_mean(std::vector<Reading>::const_iterator first, std::vector<Reading>::const_iterator last) {
    const double count = static_cast<double>(last - first);
    double sum = 0.0;
    for (auto it = first; it != last; ++it) sum += it->temperature;
    if (std::isfinite(sum)) return sum / count;
    // Huge values of opposite signs: dividing first cannot overflow.
    sum = 0.0;
    for (auto it = first; it != last; ++it) sum += it->temperature / count;
    return sum;
}

// Time order, ties by temperature: one total order whatever the input order.
// A function object, so that sorts and merges inline the comparison.
struct ReadingBefore {
    bool operator()(const Reading& a, const Reading& b) const {
        return a.t < b.t || (a.t == b.t && a.temperature < b.temperature);
    }
};

// Readings sorted by `before` with each run of equal times replaced, in
// place, by one reading at their mean temperature.
std::vector<Reading> average_equal_times(std::vector<Reading> sorted) {
    // Usually no two readings share a time: nothing to average.
    bool unique = true;
    for (std::size_t i = 1; i < sorted.size() && unique; ++i) unique = sorted[i].t != sorted[i - 1].t;
    if (unique) return sorted;
    std::size_t kept = 0;
    InterruptTicker ticker;
    for (auto first = sorted.cbegin(); first != sorted.cend();) {
        auto last = first + 1;
        while (last != sorted.cend() && last->t == first->t) ++last;
        // The run is read before its slot (at or before it) is written.
        sorted[kept++] = {first->t, run_mean(first, last)};
        first = last;
        ticker.tick();
    }
    sorted.resize(kept);
    return sorted;
}

constexpr std::size_t kMaxMergedRuns = 16;

// The readings at(0) .. at(n - 1) sorted by time, with readings sharing a time
// averaged into one. Ordering ties by temperature fixes the summation order,
// so the averages (to the bit) do not depend on the order rows arrived or
// partial aggregates were merged in. Readings usually come as a few runs in
// time order (a logger's rows, a synchronised scan starting mid-table, the
// parallel workers' partial states, each written in time order): those are
// merged k-way into the result, one copy; more runs are copied and sorted.
// at(i) .. at(j) are contiguous in memory within each block of `block`
// readings (i / block == j / block): the merge walks pointers, and looks a
// reading up by index only at a block's start. This runs in the leader's
// serial final phase of a parallel query, and one result array is all it
// allocates (fresh memory is slow to fault in on some virtual machines).
template <class At>
std::vector<Reading> sort_and_average(std::size_t n, std::size_t block, At at) {
    const ReadingBefore before;
    std::vector<std::size_t> starts{0};  // where each run in time order starts
    for (std::size_t i = 1; i < n && starts.size() <= kMaxMergedRuns; ++i)
        if (before(at(i), at(i - 1))) starts.push_back(i);
    std::vector<Reading> out;
    out.reserve(n);
    if (n == 0) return out;
    if (starts.size() > kMaxMergedRuns || starts.size() == 1) {
        for (std::size_t i = 0; i < n; ++i) out.push_back(at(i));
        if (starts.size() > 1) {
            InterruptTicker sort_ticker;
            std::sort(out.begin(), out.end(), ticking(sort_ticker, before));
        }
        check_interrupts();
        return average_equal_times(std::move(out));
    }
    // A cursor per run: the next reading, the end of its contiguous stretch,
    // its index and the run's end.
    struct Cursor {
        const Reading* p;
        const Reading* stretch_end;
        std::size_t i, end;
    };
    const auto stretch = [&at, block](Cursor& c) {
        c.p = &at(c.i);
        c.stretch_end = c.p + std::min(block - c.i % block, c.end - c.i);
    };
    std::vector<Cursor> cursors;
    for (std::size_t r = 0; r < starts.size(); ++r) {
        Cursor c{nullptr, nullptr, starts[r], r + 1 < starts.size() ? starts[r + 1] : n};
        stretch(c);
        cursors.push_back(c);
    }
    InterruptTicker ticker;
    while (!cursors.empty()) {
        std::size_t best = 0;
        for (std::size_t r = 1; r < cursors.size(); ++r)
            if (before(*cursors[r].p, *cursors[best].p)) best = r;
        Cursor& c = cursors[best];
        out.push_back(*c.p);
        if (++c.i == c.end)
            cursors.erase(cursors.begin() + static_cast<std::ptrdiff_t>(best));
        else if (++c.p == c.stretch_end)
            stretch(c);
        ticker.tick();
    }
    return average_equal_times(std::move(out));
}

std::vector<Reading> deduplicate(const std::vector<Reading>& readings) {
    return sort_and_average(readings.size(), std::max<std::size_t>(readings.size(), 1),
                            [&readings](std::size_t i) -> const Reading& { return readings[i]; });
}

// 1 - exp(-r) without cancellation for small r.
double one_minus_exp(double r) { return -std::expm1(-r); }

// The readings of a fit, as elapsed seconds since the earliest one.
struct Series {
    std::vector<double> x;
    std::vector<double> y;
    double span = 0.0;  // x of the last reading
    std::vector<bool> uniform_block;  // see decay_factors
};

// exp(-x[i] / tau) for every reading, for the many passes a fit makes over
// its series. Readings come in blocks of 64, each starting with a direct exp;
// inside a block whose readings are evenly spaced (a logger's fixed interval)
// factor j is the block's first times step^j, from a table of powers made
// once per call, so the block's products are independent (vectorisable);
// other blocks multiply by exp(-gap / tau), recomputed only when the gap
// changes. Rounding grows over at most 64 products (a relative error below
// 1e-14, far inside the fit's tolerance).
constexpr std::size_t kDecayBlock = 64;

void decay_factors(const Series& s, double tau, std::vector<double>& e) {
    const std::size_t n = s.x.size();
    e.resize(n);
    double powers[kDecayBlock];
    double powers_gap = -1.0;
    double gap = -1.0, step = 0.0;
    for (std::size_t start = 0; start < n; start += kDecayBlock) {
        const std::size_t end = std::min(n, start + kDecayBlock);
        const double first = std::exp(-s.x[start] / tau);
        e[start] = first;
        if (end - start > 2 && s.uniform_block[start / kDecayBlock]) {
            const double g = s.x[start + 1] - s.x[start];
            if (g != powers_gap) {
                powers_gap = g;
                powers[0] = 1.0;
                const double q = std::exp(-g / tau);
                for (std::size_t j = 1; j < kDecayBlock; ++j) powers[j] = powers[j - 1] * q;
            }
            for (std::size_t i = start + 1; i < end; ++i) e[i] = first * powers[i - start];
            continue;
        }
        for (std::size_t i = start + 1; i < end; ++i) {
            const double g = s.x[i] - s.x[i - 1];
            if (g != gap) {
                gap = g;
                step = std::exp(-g / tau);
            }
            e[i] = e[i - 1] * step;
        }
    }
}

// Marks the blocks of decay_factors whose readings are evenly spaced.
void mark_uniform_blocks(Series& s) {
    const std::size_t n = s.x.size();
    s.uniform_block.assign((n + kDecayBlock - 1) / kDecayBlock, false);
    for (std::size_t start = 0; start < n; start += kDecayBlock) {
        const std::size_t end = std::min(n, start + kDecayBlock);
        bool uniform = end - start > 2;
        for (std::size_t i = start + 2; uniform && i < end; ++i)
            uniform = s.x[i] - s.x[i - 1] == s.x[start + 1] - s.x[start];
        s.uniform_block[start / kDecayBlock] = uniform;
    }
}

// Time constant from the optimiser's parameter u = log(tau / scale). The clamp
// keeps tau positive and finite whatever step the optimiser tries.
double tau_of(double u, double scale) { return scale * std::exp(std::clamp(u, -700.0, 700.0)); }

// Residuals and Jacobian for Eigen's Levenberg-Marquardt. Parameters are
// (T0, Ta, u), or (T0, u) with a known ambient, where tau = scale * exp(u):
// optimising log tau keeps tau > 0 without constraints, and dividing by the
// series span makes u dimensionless and of order 1 whatever the time unit.
class CurveResiduals : public Eigen::DenseFunctor<double> {
public:
    CurveResiduals(const Series& s, std::optional<double> ambient)
        : Eigen::DenseFunctor<double>(ambient ? 2 : 3, static_cast<int>(s.x.size())),
          s_(s), ambient_(ambient) {}

    int operator()(const InputType& p, ValueType& r) const {
        // Each evaluation is O(n): checking here bounds the time between checks
        // even inside one LM step, which may evaluate several trial points.
        check_interrupts();
        const double t0 = p[0], ta = ambient_of(p), tau = tau_of(u_of(p), s_.span);
        const std::vector<double>& e = factors(tau);
        for (std::size_t i = 0; i < s_.x.size(); ++i) {
            const auto row = static_cast<Eigen::Index>(i);
            r[row] = t0 + (ta - t0) * (1.0 - e[i]) - s_.y[i];
        }
        return 0;
    }

    int df(const InputType& p, JacobianType& jac) const {
        check_interrupts();
        const double t0 = p[0], ta = ambient_of(p), tau = tau_of(u_of(p), s_.span);
        const Eigen::Index u_col = ambient_ ? 1 : 2;
        // Usually the point the last residual evaluation saw: its factors are reused.
        const std::vector<double>& e = factors(tau);
        for (std::size_t i = 0; i < s_.x.size(); ++i) {
            const auto row = static_cast<Eigen::Index>(i);
            jac(row, 0) = e[i];                              // dT/dT0
            if (!ambient_) jac(row, 1) = 1.0 - e[i];         // dT/dTa
            // dT/du = tau * dT/dtau = (T0 - Ta) * e * x / tau. When e underflows
            // x / tau may be huge; the true derivative is 0.
            jac(row, u_col) = e[i] == 0.0 ? 0.0 : (t0 - ta) * e[i] * (s_.x[i] / tau);
        }
        return 0;
    }

private:
    double ambient_of(const InputType& p) const { return ambient_ ? *ambient_ : p[1]; }
    double u_of(const InputType& p) const { return ambient_ ? p[1] : p[2]; }

    const std::vector<double>& factors(double tau) const {
        if (tau != cached_tau_) {
            decay_factors(s_, tau, cached_);
            cached_tau_ = tau;
        }
        return cached_;
    }

    const Series& s_;
    std::optional<double> ambient_;
    mutable std::vector<double> cached_;  // exp(-x / tau) at cached_tau_
    mutable double cached_tau_ = std::numeric_limits<double>::quiet_NaN();
};

// A starting point for Levenberg-Marquardt: optimiser parameters (see
// CurveResiduals) and the residual sum of squares there.
struct Start {
    double rss;
    Eigen::VectorXd p;
};

// Variable projection: for a fixed tau the model is linear in T0 and Ta, so
// the fit is a search over u = log(tau / span) alone. At each u one pass
// gives the least-squares T0 (and Ta), the residual sum of squares and its
// derivative in u (by the envelope theorem, the partial derivative at the
// optimal T0 and Ta): (T0 - Ta) / tau * sum e x (T0 e + Ta g - y), times 2.
struct Profile {
    bool ok = false;
    double u = 0, t0 = 0, ta = 0, rss = 0, slope = 0;
};

Profile profile_u(const Series& s, double u, std::optional<double> ambient, std::vector<double>& e) {
    Profile pr;
    pr.u = u;
    const double tau = tau_of(u, s.span);
    const std::size_t n = s.x.size();
    decay_factors(s, tau, e);
    // Nine sums in one pass, each kept in kLanes partial sums (readings i, i + kLanes, ...) that the
    // compiler can hold in vector registers; the lanes are added up at the end, in a fixed order.
    constexpr std::size_t kLanes = 4;
    double acc[9][kLanes] = {};
    const double* ep = e.data();
    const double* xp = s.x.data();
    const double* yp = s.y.data();
    const auto accumulate = [&acc, ep, xp, yp](std::size_t l, std::size_t i) {
        const double ei = ep[i], g = 1.0 - ei, x = xp[i], y = yp[i];
        acc[0][l] += ei * ei;
        acc[1][l] += ei * g;
        acc[2][l] += g * g;
        acc[3][l] += ei * y;
        acc[4][l] += g * y;
        acc[5][l] += y * y;
        acc[6][l] += ei * ei * x;
        acc[7][l] += ei * g * x;
        acc[8][l] += ei * x * y;
    };
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (std::size_t l = 0; l < kLanes; ++l) accumulate(l, i + l);
    for (std::size_t l = 0; i < n; ++i, ++l) accumulate(l, i);
    double sum[9];
    for (int k = 0; k < 9; ++k) sum[k] = (acc[k][0] + acc[k][1]) + (acc[k][2] + acc[k][3]);
    const double see = sum[0], seg = sum[1], sgg = sum[2], sey = sum[3], sgy = sum[4], syy = sum[5], seex = sum[6],
                 segx = sum[7], sexy = sum[8];
    if (ambient) {
        if (!(see > 0.0)) return pr;
        pr.ta = *ambient;
        pr.t0 = (sey - pr.ta * seg) / see;
    } else {
        const double det = see * sgg - seg * seg;
        if (!(det > 1e-12 * see * sgg)) return pr;  // columns nearly collinear: tau far outside the data
        pr.t0 = (sey * sgg - sgy * seg) / det;
        pr.ta = (sgy * see - sey * seg) / det;
    }
    pr.rss = std::max(0.0, pr.t0 * pr.t0 * see + pr.ta * pr.ta * sgg + syy + 2.0 * pr.t0 * pr.ta * seg -
                               2.0 * pr.t0 * sey - 2.0 * pr.ta * sgy);
    pr.slope = 2.0 * (pr.t0 - pr.ta) / tau * (pr.t0 * seex + pr.ta * segx - sexy);
    pr.ok = std::isfinite(pr.rss) && std::isfinite(pr.slope) && std::isfinite(pr.t0) && std::isfinite(pr.ta);
    return pr;
}

// The root of the slope between two profiles of opposite slope sign
// (Brent-Dekker: inverse quadratic and secant steps, bisection when they
// stray), to |du| below 1e-13. nullopt when a profile fails on the way.
std::optional<Profile> slope_root(const Series& s, std::optional<double> ambient, Profile a, Profile b,
                                  std::vector<double>& e, int* evaluations) {
    constexpr int kMaxEvaluations = 100;
    Profile c = a;
    double d = b.u - a.u, m_step = d;
    for (int it = 0; it < kMaxEvaluations; ++it) {
        if ((b.slope > 0) == (c.slope > 0)) {
            c = a;
            d = m_step = b.u - a.u;
        }
        if (std::abs(c.slope) < std::abs(b.slope)) {
            a = b;
            b = c;
            c = a;
        }
        const double tol = 1e-13 * std::max(1.0, std::abs(b.u));
        const double half = 0.5 * (c.u - b.u);
        if (std::abs(half) <= tol || b.slope == 0.0) return b;
        if (std::abs(m_step) >= tol && std::abs(a.slope) > std::abs(b.slope)) {
            // Interpolation: secant, or inverse quadratic through a, b, c.
            double p, q;
            const double sr = b.slope / a.slope;
            if (a.u == c.u) {
                p = 2.0 * half * sr;
                q = 1.0 - sr;
            } else {
                const double qa = a.slope / c.slope, rb = b.slope / c.slope;
                p = sr * (2.0 * half * qa * (qa - rb) - (b.u - a.u) * (rb - 1.0));
                q = (qa - 1.0) * (rb - 1.0) * (sr - 1.0);
            }
            if (p > 0) q = -q;
            p = std::abs(p);
            if (2.0 * p < std::min(3.0 * half * q - std::abs(tol * q), std::abs(m_step * q))) {
                m_step = d;
                d = p / q;
            } else {
                d = half;
                m_step = d;
            }
        } else {
            d = half;
            m_step = d;
        }
        a = b;
        const double next = b.u + (std::abs(d) > tol ? d : (half > 0 ? tol : -tol));
        check_interrupts();
        b = profile_u(s, next, ambient, e);
        ++*evaluations;
        if (!b.ok) return std::nullopt;
    }
    return std::nullopt;
}

double mean_of(const std::vector<double>& v, std::size_t first, std::size_t last) {
    double sum = 0.0;
    for (std::size_t i = first; i < last; ++i) sum += v[i];
    return sum / static_cast<double>(last - first);
}

// Linear interpolation of the readings at elapsed time x (within the span).
double interpolate(const Series& s, double x) {
    const auto it = std::lower_bound(s.x.begin(), s.x.end(), x);
    if (it == s.x.begin()) return s.y.front();
    if (it == s.x.end()) return s.y.back();
    const auto i = static_cast<std::size_t>(it - s.x.begin());
    const double f = (x - s.x[i - 1]) / (s.x[i] - s.x[i - 1]);
    return s.y[i - 1] + f * (s.y[i] - s.y[i - 1]);
}

// A first guess of tau from the shape of the data: T0 from the first readings,
// Ta from the last ones extrapolated, tau from when ~63% of the change happened.
double guess_tau(const Series& s, std::optional<double> ambient) {
    const std::size_t n = s.x.size();
    const std::size_t k = std::clamp<std::size_t>(n / 10, 1, 5);  // a few readings damp the noise
    const double first = mean_of(s.y, 0, k);
    const double last = mean_of(s.y, n - k, n);
    double ta = last;
    if (ambient) {
        ta = *ambient;
    } else {
        // Aitken's delta-squared on (start, middle, end): for an exponential
        // approach the steps shrink geometrically, and the remaining change
        // after the end is d2^2 / (d1 - d2). Only when the data do decelerate.
        const double mid = interpolate(s, s.span / 2);
        const double d1 = mid - first, d2 = last - mid;
        if (d1 * d2 > 0 && std::abs(d2) < std::abs(d1)) ta = last + d2 * d2 / (d1 - d2);
    }
    const double change = ta - first;
    double tau = s.span;  // the 63% point never reached: the approach is slow
    if (change != 0.0) {
        constexpr double kOneTau = 0.6321205588285577;  // 1 - 1/e
        double prev = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double frac = (s.y[i] - first) / change;
            if (frac >= kOneTau) {
                tau = i == 0 ? 0.0 : s.x[i - 1] + (kOneTau - prev) / (frac - prev) * (s.x[i] - s.x[i - 1]);
                break;
            }
            prev = frac;
        }
    }
    // Only a seed for the scan, which covers a factor of 64 either way.
    return std::clamp(tau, s.span * 1e-3, s.span * 10.0);
}

struct Attempt {
    Eigen::VectorXd p;
    bool converged = false;
    int steps = 0;
};

Attempt run_lm(const Series& s, std::optional<double> ambient, Eigen::VectorXd p) {
    CurveResiduals residuals(s, ambient);
    Eigen::LevenbergMarquardt<CurveResiduals> lm(residuals);
    // Tighter than MINPACK's defaults (sqrt(eps)): the fit is cheap and callers
    // compare it with other tools' optimum.
    lm.setFtol(1e-12);
    lm.setXtol(1e-12);
    lm.setMaxfev(2000);
    Attempt a;
    auto status = lm.minimizeInit(p);
    if (status == Eigen::LevenbergMarquardtSpace::ImproperInputParameters) {
        a.p = std::move(p);
        return a;
    }
    do {
        status = lm.minimizeOneStep(p);
        ++a.steps;
    } while (status == Eigen::LevenbergMarquardtSpace::Running);
    // Eigen reports Success for MINPACK's info 1-4 (tolerances met) and 6-8
    // (no further progress possible at machine precision); the rest are
    // running out of evaluations or a numerical failure.
    a.converged = lm.info() == Eigen::Success && p.allFinite();
    a.p = std::move(p);
    return a;
}

double rms_about_mean(const std::vector<Reading>& readings, double mean) {
    if (readings.empty()) return kNaN;
    double ss = 0.0;
    for (const auto& r : readings) ss += (r.temperature - mean) * (r.temperature - mean);
    return std::sqrt(ss / static_cast<double>(readings.size()));
}

void check_curve(const CoolingFit& fit) {
    if (!std::isfinite(fit.t0) || !std::isfinite(fit.ambient) || !std::isfinite(fit.tau) ||
        !std::isfinite(fit.start) || !(fit.tau > 0.0))
        throw_invalid("the cooling fit has no curve to evaluate",
                      "A fit with too few readings or a flat series has no time constant.");
}

}  // namespace

namespace {
// The fit of readings sorted by time with no time twice (finite values).
CoolingFit fit_sorted_unique(std::vector<Reading> data, std::optional<double> known_ambient);
}  // namespace

CoolingFit fit_cooling(std::vector<Reading> readings, std::optional<double> known_ambient) {
    for (const auto& r : readings) check_reading(r);
    return fit_sorted_unique(deduplicate(readings), known_ambient);
}

CoolingFit fit_cooling_sorted(std::vector<Reading> readings, std::optional<double> known_ambient) {
    // One pass to confirm what sorted_deduplicated() promises; anything else takes the full path.
    for (std::size_t i = 0; i < readings.size(); ++i)
        if (!std::isfinite(readings[i].t) || !std::isfinite(readings[i].temperature) ||
            (i > 0 && !(readings[i].t > readings[i - 1].t)))
            return fit_cooling(std::move(readings), known_ambient);
    return fit_sorted_unique(std::move(readings), known_ambient);
}

namespace {

CoolingFit fit_sorted_unique(std::vector<Reading> data, std::optional<double> known_ambient) {
    if (known_ambient && !std::isfinite(*known_ambient)) known_ambient.reset();
    CoolingFit fit;
    fit.n = static_cast<std::int64_t>(data.size());
    fit.ambient_fixed = known_ambient.has_value();
    if (!data.empty()) fit.start = data.front().t;

    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0.0, largest = 0.0;
    for (const auto& r : data) {
        lo = std::min(lo, r.temperature);
        hi = std::max(hi, r.temperature);
        sum += r.temperature;
        largest = std::max(largest, std::abs(r.temperature));
    }
    const bool too_few = data.size() < 3;
    const bool flat = !too_few && hi - lo < 1e-9 * std::max(1.0, largest);
    if (too_few || flat) {
        const double mean = data.empty() ? kNaN : sum / static_cast<double>(data.size());
        fit.t0 = mean;
        fit.ambient = known_ambient ? *known_ambient : mean;
        fit.rmse = rms_about_mean(data, mean);
        fit.note = too_few ? "fewer than 3 readings" : "flat series";
        return fit;
    }
    if (data.size() > static_cast<std::size_t>(INT_MAX))
        throw_error(ErrorKind::ProgramLimitExceeded, "too many readings for one cooling fit");

    Series s;
    s.x.reserve(data.size());
    s.y.reserve(data.size());
    for (const auto& r : data) {
        s.x.push_back(r.t - fit.start);
        s.y.push_back(r.temperature);
    }
    s.span = s.x.back();
    mark_uniform_blocks(s);

    // Search tau on a grid of factors of 2 around the guess, profiling T0 (and
    // Ta) out: walk downhill from the guess until the slope of the residual sum
    // of squares changes sign, then drive the slope to zero between those two
    // points (variable projection). When the walk fails (it goes past 2^24
    // times the guess, or the profile misbehaves), the grid of 2^-6 .. 2^6 times
    // the guess is evaluated and its best
    // point bracketed instead; when that fails too, Levenberg-Marquardt on all
    // parameters starts from the best grid points.
    const double tau_guess = guess_tau(s, known_ambient);
    constexpr int kGrid = 6;   // the grid evaluated in full when the walk fails: 2^-6 .. 2^6 times the guess
    constexpr int kWalk = 24;  // how far the walk may go: a slow drift (tau hundreds of times the guess, a
                               // nearly straight series) is walked to in a few more passes, where
                               // Levenberg-Marquardt from the grid's edge took a hundred times as long
    std::vector<std::optional<Profile>> grid(2 * kWalk + 1);
    std::vector<double> factors;
    const auto at = [&](int k) -> const Profile& {
        auto& slot = grid[static_cast<std::size_t>(k + kWalk)];
        if (!slot) {
            check_interrupts();
            slot = profile_u(s, std::log(std::ldexp(tau_guess, k) / s.span), known_ambient, factors);
            ++fit.iterations;
        }
        return *slot;
    };
    const auto bracketed_root = [&](int k, int toward) -> std::optional<Profile> {
        const Profile& mid = at(k);
        if (mid.slope == 0.0) return mid;
        const int side_k = k + toward;
        if (side_k < -kGrid || side_k > kGrid) return std::nullopt;
        const Profile& side = at(side_k);
        if (!side.ok || (side.slope > 0) == (mid.slope > 0)) return std::nullopt;
        return slope_root(s, known_ambient, side, mid, factors, &fit.iterations);
    };
    std::optional<Profile> root;
    if (at(0).ok && at(0).slope == 0.0) {
        root = at(0);
    } else if (at(0).ok) {
        const int dir = at(0).slope > 0 ? -1 : 1;  // downhill in log tau
        int k = 0;
        while (!root && k + dir >= -kWalk && k + dir <= kWalk) {
            const Profile& next = at(k + dir);
            if (!next.ok) break;
            if ((next.slope > 0) != (at(k).slope > 0) || next.slope == 0.0) {
                root = next.slope == 0.0 ? next : slope_root(s, known_ambient, at(k), next, factors, &fit.iterations);
                break;
            }
            if (next.rss > at(k).rss) break;  // uphill with the slope unchanged: not a profile to walk
            k += dir;
        }
    }
    if (!root) {
        int best_k = kGrid + 1;
        for (int k = -kGrid; k <= kGrid; ++k)
            if (at(k).ok && (best_k > kGrid || at(k).rss < at(best_k).rss)) best_k = k;
        if (best_k > -kGrid && best_k < kGrid) root = bracketed_root(best_k, at(best_k).slope > 0 ? -1 : 1);
    }
    std::optional<Attempt> best;
    if (root) {
        Attempt a;
        a.p = Eigen::VectorXd(known_ambient ? 2 : 3);
        if (known_ambient)
            a.p << root->t0, root->u;
        else
            a.p << root->t0, root->ta, root->u;
        a.converged = a.p.allFinite();
        if (a.converged) best = std::move(a);
    }

    std::vector<Start> starts;
    if (!best)
        for (int k = -kGrid; k <= kGrid; ++k)
            if (const Profile& pr = at(k); pr.ok) {
                Start st{pr.rss, Eigen::VectorXd(known_ambient ? 2 : 3)};
                if (known_ambient)
                    st.p << pr.t0, pr.u;
                else
                    st.p << pr.t0, pr.ta, pr.u;
                starts.push_back(std::move(st));
            }
    std::sort(starts.begin(), starts.end(), [](const Start& a, const Start& b) { return a.rss < b.rss; });

    constexpr std::size_t kMaxAttempts = 3;
    for (std::size_t i = 0; i < starts.size() && i < kMaxAttempts; ++i) {
        Attempt a = run_lm(s, known_ambient, starts[i].p);
        fit.iterations += a.steps;
        const bool done = a.converged;
        if (!best || (a.converged && !best->converged)) best = std::move(a);
        if (done) break;
    }

    if (best && best->p.allFinite()) {
        const Eigen::VectorXd& p = best->p;
        fit.t0 = p[0];
        fit.ambient = known_ambient ? *known_ambient : p[1];
        fit.tau = tau_of(known_ambient ? p[1] : p[2], s.span);
        // Residuals summed directly (not from the profile's expanded sums,
        // which cancel when the temperatures sit far from zero). The decay
        // factors' relative error (below 1e-14) moves a residual by less
        // than 1e-13 of the temperature change.
        double ss = 0.0;
        if (std::isfinite(fit.tau) && fit.tau > 0.0) decay_factors(s, fit.tau, factors);
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            const double decayed = std::isfinite(fit.tau) && fit.tau > 0.0 ? factors[i] : std::exp(-s.x[i] / fit.tau);
            const double d = fit.ambient + (fit.t0 - fit.ambient) * decayed - s.y[i];
            ss += d * d;
        }
        fit.rmse = std::sqrt(ss / static_cast<double>(s.x.size()));
    }
    fit.converged = best && best->converged && std::isfinite(fit.t0) && std::isfinite(fit.ambient) &&
                    std::isfinite(fit.tau) && fit.tau > 0.0 && std::isfinite(fit.rmse);
    if (!fit.converged) fit.note = "did not converge";
    // Readings that move away from a known ambient temperature (rising while
    // it is below them) drive tau towards infinity: no curve of the model fits,
    // and a time constant of centuries is no forecast.
    if (fit.converged && fit.tau > kMaxTimeConstantSeconds) {
        fit.converged = false;
        fit.tau = std::numeric_limits<double>::quiet_NaN();
        fit.note = known_ambient ? "the readings do not approach the given ambient temperature"
                                 : "no finite time constant fits the readings";
    }
    return fit;
}

}  // namespace

double predict_temperature(double t0, double ambient, double tau, double elapsed_seconds) {
    check_finite(t0, "initial temperature");
    check_finite(ambient, "ambient temperature");
    check_finite(tau, "time constant");
    check_finite(elapsed_seconds, "elapsed time");
    if (!(tau > 0.0)) throw_invalid("time constant must be positive, got " + std::to_string(tau));
    const double v = t0 + (ambient - t0) * one_minus_exp(elapsed_seconds / tau);
    // Only far backward extrapolation (exp of a large positive number) gets here.
    if (!std::isfinite(v)) throw_error(ErrorKind::OutOfRange, "predicted temperature is out of range");
    return v;
}

double predict_at(const CoolingFit& fit, double t) {
    check_curve(fit);
    check_finite(t, "time");
    return predict_temperature(fit.t0, fit.ambient, fit.tau, t - fit.start);
}

std::optional<double> breach_time(const CoolingFit& fit, double limit, std::optional<double> from) {
    check_curve(fit);
    check_finite(limit, "limit");
    const double t_from = from ? *from : fit.start;
    check_finite(t_from, "start of the search");
    const double now = predict_at(fit, t_from);
    if (now == limit) return t_from;
    // Sign: direction of travel. Far along the curve T(from) rounds to the
    // ambient exactly; the curve still came from T0, so a shipment resting
    // beyond its limit stays breached.
    const double toward = now != fit.ambient ? fit.ambient - now : fit.ambient - fit.t0;
    if (toward == 0.0) return std::nullopt;   // a flat curve, away from the limit
    if ((limit - now) * toward < 0.0) return t_from;             // already past it: breached
    if ((fit.ambient - limit) * toward <= 0.0) return std::nullopt;  // at or beyond the asymptote
    // Ta - T(t) = (Ta - T0) exp(-(t - start) / tau); solved for T(t) = limit.
    // log1p keeps precision for a limit close to T0: (Ta - L)/(Ta - T0) = 1 + (T0 - L)/(Ta - T0).
    const double t = fit.start - fit.tau * std::log1p((fit.t0 - limit) / (fit.ambient - fit.t0));
    if (!std::isfinite(t)) throw_error(ErrorKind::OutOfRange, "breach time is out of range");
    return std::max(t, t_from);  // rounding must not put the crossing before `from`
}

ReadingSeries::ReadingSeries(const ReadingSeries& other) : ReadingSeries() { merge(other); }

ReadingSeries::ReadingSeries(ReadingSeries&& other) noexcept
    : memory_(other.memory_),
      blocks_(std::move(other.blocks_)),
      tail_(other.tail_),
      tail_end_(other.tail_end_),
      size_(other.size_),
      first_capacity_(other.first_capacity_),
      capacity_readings_(other.capacity_readings_) {
    other.blocks_.clear();
    other.tail_ = other.tail_end_ = nullptr;
    other.size_ = other.first_capacity_ = other.capacity_readings_ = 0;
}

ReadingSeries& ReadingSeries::operator=(const ReadingSeries& other) {
    if (&other != this) {
        release();
        merge(other);
    }
    return *this;
}

ReadingSeries& ReadingSeries::operator=(ReadingSeries&& other) {
    if (&other == this) return *this;
    if (!memory_->is_equal(*other.memory_)) return *this = static_cast<const ReadingSeries&>(other);
    release();
    blocks_ = std::move(other.blocks_);  // equal resources: the array is taken over, not copied
    tail_ = other.tail_;
    tail_end_ = other.tail_end_;
    size_ = other.size_;
    first_capacity_ = other.first_capacity_;
    capacity_readings_ = other.capacity_readings_;
    other.blocks_.clear();
    other.tail_ = other.tail_end_ = nullptr;
    other.size_ = other.first_capacity_ = other.capacity_readings_ = 0;
    return *this;
}

void ReadingSeries::release() noexcept {
    for (std::size_t b = 0; b < blocks_.size(); ++b)
        memory_->deallocate(blocks_[b], block_capacity(b) * sizeof(Reading), alignof(Reading));
    blocks_.clear();
    tail_ = tail_end_ = nullptr;
    size_ = first_capacity_ = capacity_readings_ = 0;
}

void ReadingSeries::grow() {
    if (blocks_.size() == 1 && first_capacity_ < kBlockReadings) {
        // The first block doubles (its readings move to the new array).
        const std::size_t capacity = std::min(2 * first_capacity_, kBlockReadings);
        auto* block = static_cast<Reading*>(memory_->allocate(capacity * sizeof(Reading), alignof(Reading)));
        std::copy(blocks_[0], tail_, block);
        memory_->deallocate(blocks_[0], first_capacity_ * sizeof(Reading), alignof(Reading));
        blocks_[0] = block;
        tail_ = block + size_;
        tail_end_ = block + capacity;
        capacity_readings_ += capacity - first_capacity_;
        first_capacity_ = capacity;
        return;
    }
    const std::size_t capacity = blocks_.empty() ? kFirstBlockReadings : kBlockReadings;
    // Room first (doubling), so that push_back below cannot throw and leak the new block.
    if (blocks_.size() == blocks_.capacity()) blocks_.reserve(std::max<std::size_t>(8, 2 * blocks_.capacity()));
    auto* block = static_cast<Reading*>(memory_->allocate(capacity * sizeof(Reading), alignof(Reading)));
    blocks_.push_back(block);
    if (blocks_.size() == 1) first_capacity_ = capacity;
    tail_ = block;
    tail_end_ = block + capacity;
    capacity_readings_ += capacity;
}

bool ReadingSeries::add(double t, double temperature) {
    check_finite(t, "reading time");
    check_finite(temperature, "temperature");
    const bool grows = tail_ == tail_end_;
    push({t, temperature});
    return grows;
}

void ReadingSeries::merge(const ReadingSeries& other) {
    if (&other == this) {
        const std::vector<Reading> copy = readings();
        for (const Reading& r : copy) push(r);
        return;
    }
    for (std::size_t b = 0; b < other.blocks_.size(); ++b) {
        const Reading* block = other.blocks_[b];
        append(other.block_count(b), [block](std::size_t i) { return block[i]; });
    }
}

std::vector<Reading> ReadingSeries::readings() const {
    std::vector<Reading> out;
    out.reserve(size_);
    for (std::size_t b = 0; b < blocks_.size(); ++b) out.insert(out.end(), blocks_[b], blocks_[b] + block_count(b));
    return out;
}

std::vector<Reading> ReadingSeries::sorted_deduplicated() const {
    return sort_and_average(size_, kBlockReadings, [this](std::size_t i) -> const Reading& { return reading_at(i); });
}

std::vector<std::uint8_t> ReadingSeries::serialize() const {
    ByteWriter w(tags::reading_series, kSeriesVersion);
    w.reserve(serialized_size());
    write_arrays(w);
    return w.take();
}

void ReadingSeries::serialize_into(ByteWriter& w) const {
    w.u8(tags::reading_series);
    w.u8(kSeriesVersion);
    write_arrays(w);
}

namespace {

// Times t_0 .. t_(n-1) as runs t = start + step * k, k = 0 .. count - 1, each
// reproducing its times exactly in double arithmetic.
struct TimeRun {
    double start;
    double step;
    std::uint64_t count;
};

// The product is rounded on its own (never fused into a multiply-add), so
// that a writer and a reader on any machine compute the same double.
double run_time(const TimeRun& run, std::uint64_t k) {
    const volatile double offset = run.step * static_cast<double>(k);
    return run.start + offset;
}

// The runs of n times, or none when there would be more than max_runs.
template <class Time>
std::vector<TimeRun> time_runs(std::size_t n, Time time, std::size_t max_runs) {
    std::vector<TimeRun> runs;
    InterruptTicker ticker;
    for (std::size_t i = 0; i < n; ++i, ticker.tick()) {
        const double t = time(i);
        if (!runs.empty()) {
            TimeRun& run = runs.back();
            if (run.count == 1) {
                const double step = t - run.start;
                if (run_time({run.start, step, 1}, 1) == t) {
                    run.step = step;
                    run.count = 2;
                    continue;
                }
            } else if (run_time(run, run.count) == t) {
                ++run.count;
                continue;
            }
        }
        if (runs.size() == max_runs) return {};
        runs.push_back({t, 0.0, 1});
    }
    return runs;
}

// Readings in time order, i-th by reading(i). The times of a large series
// are written as runs when those average 64 readings or more (a group's share
// of a fleet's table read in time order, where thousands of readings share a
// time): a quarter of the state's bytes less to ship and sort. A small series
// (one shipment's share in one worker) is written raw: measured on #20's
// benchmark, looking for runs in 30,000 small states cost more than shipping
// their times.
constexpr std::size_t kRunsFromReadings = 65536;
template <class Get>
void write_sorted(ByteWriter& w, std::size_t n, Get reading) {
    const std::size_t max_runs = n >= kRunsFromReadings ? n / 64 : 0;
    const std::vector<TimeRun> runs = time_runs(n, [&](std::size_t i) { return reading(i).t; }, max_runs);
    if (runs.empty() && n > 0) {
        w.u8(kRawTimes);
        w.f64s_of(n, [&](std::size_t i) { return reading(i).t; });
    } else {
        w.u8(kTimeRuns);
        w.u64(n);
        w.u64(runs.size());
        for (const TimeRun& run : runs) {
            w.f64(run.start);
            w.f64(run.step);
            w.u64(run.count);
        }
    }
    w.f64s_of(n, [&](std::size_t i) { return reading(i).temperature; });
}

}  // namespace

void ReadingSeries::write_arrays(ByteWriter& w) const {
    // Written in time order. A parallel worker's partial state is serialised,
    // so the workers sort their shares concurrently and the final function,
    // in the leader, merges a few sorted runs instead of sorting every reading
    // (deduplicate). The order does not change any result: the final sorts
    // what it gets anyway.
    const ReadingBefore before;
    bool sorted = true;
    const Reading* previous = nullptr;
    for (std::size_t b = 0; b < blocks_.size() && sorted; ++b)
        for (const Reading* r = blocks_[b]; r != blocks_[b] + block_count(b); ++r) {
            if (previous != nullptr && before(*r, *previous)) {
                sorted = false;
                break;
            }
            previous = r;
        }
    if (sorted) {
        write_sorted(w, size_, [this](std::size_t i) -> const Reading& { return reading_at(i); });  // from the blocks
        return;
    }
    std::vector<Reading> all = readings();
    InterruptTicker ticker;
    std::sort(all.begin(), all.end(), ticking(ticker, before));
    write_sorted(w, all.size(), [&all](std::size_t i) -> const Reading& { return all[i]; });
}

ReadingSeries ReadingSeries::deserialize(const std::uint8_t* data, std::size_t size,
                                         std::pmr::memory_resource* memory) {
    const char* what = "temperature reading series";
    const auto invalid = [what](const char* why) {
        return Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: " + why);
    };
    ByteReader r(data, size, tags::reading_series, kSeriesVersion, what);
    const std::uint8_t times = r.version() == 1 ? kRawTimes : r.u8();
    std::vector<double> run_times;  // the times of kTimeRuns, expanded
    ByteReader::F64Array raw_times(nullptr, 0);
    if (times == kRawTimes) {
        raw_times = r.f64_array();
    } else if (times == kTimeRuns) {
        const std::uint64_t n = r.u64();
        const std::uint64_t m = r.u64();
        if (m > n || m > (size - 2) / 24 || n > (size - 2) / 8) throw invalid("bad time runs");
        run_times.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t j = 0; j < m; ++j) {
            const TimeRun run{r.f64(), r.f64(), r.u64()};
            if (run.count == 0 || run.count > n - run_times.size()) throw invalid("bad time runs");
            for (std::uint64_t k = 0; k < run.count; ++k) run_times.push_back(run_time(run, k));
        }
        if (run_times.size() != n) throw invalid("bad time runs");
    } else {
        throw invalid("unknown time encoding");
    }
    const ByteReader::F64Array temperature = r.f64_array();
    r.expect_end();
    const std::size_t n = times == kRawTimes ? raw_times.size() : run_times.size();
    if (n != temperature.size()) throw invalid("column lengths differ");
    ReadingSeries s(memory);
    s.blocks_.reserve((n + kBlockReadings - 1) / kBlockReadings + 1);
    bool finite = true;
    s.append(n, [&](std::size_t i) {
        const Reading reading{times == kRawTimes ? raw_times[i] : run_times[i], temperature[i]};
        finite = finite && std::isfinite(reading.t) && std::isfinite(reading.temperature);
        return reading;
    });
    // add() never stores these, so they can only come from corruption.
    if (!finite) throw invalid("non-finite reading");
    return s;
}

double time_beyond(const std::vector<Reading>& sorted, double limit, bool above) {
    check_finite(limit, "limit");
    check_sorted(sorted);
    double total = 0.0;
    InterruptTicker ticker;
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        const double dt = sorted[i].t - sorted[i - 1].t;
        // Excess beyond the limit at each end: positive means out of range.
        const double a = above ? sorted[i - 1].temperature - limit : limit - sorted[i - 1].temperature;
        const double b = above ? sorted[i].temperature - limit : limit - sorted[i].temperature;
        if (a > 0.0 && b > 0.0)
            total += dt;
        else if (a > 0.0)  // leaves the range at the crossing a / (a - b) of the way
            total += dt * (a / (a - b));
        else if (b > 0.0)  // enters the range at the crossing
            total += dt * (b / (b - a));
        ticker.tick();
    }
    return total;
}

double mean_kinetic_temperature(const std::vector<Reading>& sorted, double activation_energy_j_per_mol) {
    const double dh = activation_energy_j_per_mol;
    if (!std::isfinite(dh) || !(dh > 0.0))
        throw_invalid("activation energy must be a positive number of J/mol, got " + std::to_string(dh));
    if (sorted.empty()) throw_invalid("mean kinetic temperature needs at least one reading");
    check_sorted(sorted);
    for (const auto& r : sorted)
        if (r.temperature < -kZeroCelsius)
            throw_invalid("temperature below absolute zero: " + std::to_string(r.temperature) + " degC");

    const std::size_t n = sorted.size();
    std::vector<double> w(n, 1.0);
    if (n > 1) {
        // Half the gap on each side; an end reading mirrors its only gap.
        for (std::size_t i = 0; i < n; ++i) {
            const double before = i > 0 ? sorted[i].t - sorted[i - 1].t : sorted[1].t - sorted[0].t;
            const double after = i + 1 < n ? sorted[i + 1].t - sorted[i].t : sorted[n - 1].t - sorted[n - 2].t;
            w[i] = 0.5 * (before + after);
        }
        if (!(sorted.back().t > sorted.front().t)) std::fill(w.begin(), w.end(), 1.0);
    }

    // ln of the weighted mean of exp(a_i), a_i = -dH/(R T_i), by log-sum-exp:
    // exp(a_i) underflows for large dH or cold readings (a_i < -745).
    const double k = dh / kGasConstant;  // kelvin
    std::vector<double> a(n);
    double top = -std::numeric_limits<double>::infinity(), wsum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        a[i] = -k / (sorted[i].temperature + kZeroCelsius);  // -inf at absolute zero
        wsum += w[i];
        if (w[i] > 0.0) top = std::max(top, a[i]);
    }
    if (top == -std::numeric_limits<double>::infinity()) return -kZeroCelsius;  // all at absolute zero
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += w[i] * std::exp(a[i] - top);
    const double log_mean = top + std::log(s / wsum);
    return k / -log_mean - kZeroCelsius;
}

const char* shipment_state_name(ShipmentState state) {
    switch (state) {
        case ShipmentState::Breached: return "breached";
        case ShipmentState::WillBreach: return "will breach within horizon";
        case ShipmentState::Ok: return "ok";
        case ShipmentState::InsufficientData: return "insufficient data";
    }
    return "insufficient data";
}

ShipmentStatus shipment_status(const CoolingFit& fit, const Reading& last, double upper, double lower,
                               double as_of, double horizon) {
    ShipmentStatus out;
    const bool above = std::isfinite(upper) && last.temperature > upper;
    const bool below = std::isfinite(lower) && last.temperature < lower;
    if (above || below) {
        out.state = ShipmentState::Breached;
        return out;
    }
    const bool usable = fit.converged || (fit.n >= 3 && std::isfinite(fit.t0) && std::isfinite(fit.ambient) &&
                                          std::isfinite(fit.tau) && fit.tau > 0);
    if (!usable) {
        out.state = fit.note == "flat series" ? ShipmentState::Ok : ShipmentState::InsufficientData;
        return out;
    }
    // Forecast from the last reading.
    const bool warming = fit.ambient > predict_at(fit, last.t);
    const double limit = warming ? upper : lower;
    if (std::isfinite(limit)) {
        try {
            out.breach_at = breach_time(fit, limit, last.t);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::OutOfRange) throw;
            out.breach_at.reset();  // so far off it cannot be represented: never, for operations
        }
        // Beyond a century the forecast means nothing (and may not fit a timestamp).
        if (out.breach_at && *out.breach_at > last.t + 100.0 * 365.25 * 86400.0) out.breach_at.reset();
    }
    out.state = out.breach_at && *out.breach_at <= as_of + horizon ? ShipmentState::WillBreach : ShipmentState::Ok;
    return out;
}

}  // namespace crm
