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

namespace {

constexpr std::uint8_t kSeriesVersion = 1;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kGasConstant = 8.314462618;  // J/(mol K), CODATA 2018 (exact SI value, truncated)
constexpr double kZeroCelsius = 273.15;       // K

void check_finite(double v, const char* what) {
    if (!std::isfinite(v))
        throw_invalid(std::string(what) + " must be a finite number, got " +
                      (std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")));
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

// Sorts by time and averages readings sharing a time. Ordering ties by
// temperature fixes the summation order, so the averages (to the bit) do not
// depend on the order rows arrived or partial aggregates were merged in.
std::vector<Reading> deduplicate(std::vector<Reading> readings) {
    InterruptTicker sort_ticker;
    std::sort(readings.begin(), readings.end(), ticking(sort_ticker, [](const Reading& a, const Reading& b) {
                  return a.t < b.t || (a.t == b.t && a.temperature < b.temperature);
              }));
    check_interrupts();
    std::vector<Reading> out;
    out.reserve(readings.size());
    InterruptTicker ticker;
    for (auto first = readings.cbegin(); first != readings.cend();) {
        auto last = first + 1;
        while (last != readings.cend() && last->t == first->t) ++last;
        out.push_back({first->t, run_mean(first, last)});
        first = last;
        ticker.tick();
    }
    return out;
}

// 1 - exp(-r) without cancellation for small r.
double one_minus_exp(double r) { return -std::expm1(-r); }

// The readings of a fit, as elapsed seconds since the earliest one.
struct Series {
    std::vector<double> x;
    std::vector<double> y;
    double span = 0.0;  // x of the last reading
};

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
        for (std::size_t i = 0; i < s_.x.size(); ++i) {
            const auto row = static_cast<Eigen::Index>(i);
            r[row] = t0 + (ta - t0) * one_minus_exp(s_.x[i] / tau) - s_.y[i];
        }
        return 0;
    }

    int df(const InputType& p, JacobianType& jac) const {
        check_interrupts();
        const double t0 = p[0], ta = ambient_of(p), tau = tau_of(u_of(p), s_.span);
        const Eigen::Index u_col = ambient_ ? 1 : 2;
        for (std::size_t i = 0; i < s_.x.size(); ++i) {
            const auto row = static_cast<Eigen::Index>(i);
            const double r = s_.x[i] / tau;
            const double e = std::exp(-r);
            jac(row, 0) = e;                    // dT/dT0
            if (!ambient_) jac(row, 1) = one_minus_exp(r);  // dT/dTa
            // dT/du = tau * dT/dtau = (T0 - Ta) * e * x / tau. When e underflows
            // r may be infinite; the true derivative is 0, not inf * 0.
            jac(row, u_col) = e == 0.0 ? 0.0 : (t0 - ta) * e * r;
        }
        return 0;
    }

private:
    double ambient_of(const InputType& p) const { return ambient_ ? *ambient_ : p[1]; }
    double u_of(const InputType& p) const { return ambient_ ? p[1] : p[2]; }

    const Series& s_;
    std::optional<double> ambient_;
};

// Least-squares T0 and Ta for a fixed tau (the model is linear in them),
// with the residual sum of squares; nullopt if degenerate. Profiling the
// linear parameters out makes a coarse scan over tau a reliable global search.
struct Start {
    double rss;
    Eigen::VectorXd p;  // optimiser parameters, see CurveResiduals
};

std::optional<Start> profile_at(const Series& s, double tau, std::optional<double> ambient) {
    const std::size_t n = s.x.size();
    double t0 = 0.0, ta = 0.0;
    if (ambient) {
        // T - Ta (1 - e) = T0 e
        double see = 0.0, sey = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double e = std::exp(-s.x[i] / tau);
            see += e * e;
            sey += e * (s.y[i] - *ambient * one_minus_exp(s.x[i] / tau));
        }
        if (!(see > 0.0)) return std::nullopt;
        t0 = sey / see;
        ta = *ambient;
    } else {
        // Columns e and g = 1 - e; 2x2 normal equations, solved by Cramer's rule.
        double see = 0.0, seg = 0.0, sgg = 0.0, sey = 0.0, sgy = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double e = std::exp(-s.x[i] / tau);
            const double g = one_minus_exp(s.x[i] / tau);
            see += e * e;
            seg += e * g;
            sgg += g * g;
            sey += e * s.y[i];
            sgy += g * s.y[i];
        }
        const double det = see * sgg - seg * seg;
        // Nearly collinear columns (tau far outside the data): no useful start.
        if (!(det > 1e-12 * see * sgg)) return std::nullopt;
        t0 = (sey * sgg - sgy * seg) / det;
        ta = (sgy * see - sey * seg) / det;
    }
    double rss = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = t0 + (ta - t0) * one_minus_exp(s.x[i] / tau) - s.y[i];
        rss += d * d;
    }
    if (!std::isfinite(rss) || !std::isfinite(t0) || !std::isfinite(ta)) return std::nullopt;
    Start start{rss, Eigen::VectorXd(ambient ? 2 : 3)};
    const double u = std::log(tau / s.span);
    if (ambient)
        start.p << t0, u;
    else
        start.p << t0, ta, u;
    return start;
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

CoolingFit fit_cooling(std::vector<Reading> readings, std::optional<double> known_ambient) {
    for (const auto& r : readings) check_reading(r);
    if (known_ambient && !std::isfinite(*known_ambient)) known_ambient.reset();

    const std::vector<Reading> data = deduplicate(std::move(readings));
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

    // Scan tau over factors of 2 around the guess, profiling T0 (and Ta) out,
    // and start the optimiser from the best; the next best are fallbacks.
    const double tau_guess = guess_tau(s, known_ambient);
    std::vector<Start> starts;
    for (int k = -6; k <= 6; ++k) {
        check_interrupts();
        if (auto st = profile_at(s, std::ldexp(tau_guess, k), known_ambient)) starts.push_back(std::move(*st));
    }
    std::sort(starts.begin(), starts.end(), [](const Start& a, const Start& b) { return a.rss < b.rss; });

    constexpr std::size_t kMaxAttempts = 3;
    std::optional<Attempt> best;
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
        double ss = 0.0;
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            const double d = fit.t0 + (fit.ambient - fit.t0) * one_minus_exp(s.x[i] / fit.tau) - s.y[i];
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

void ReadingSeries::add(double t, double temperature) {
    check_finite(t, "reading time");
    check_finite(temperature, "temperature");
    t_.push_back(t);
    temperature_.push_back(temperature);
}

void ReadingSeries::merge(const ReadingSeries& other) {
    if (&other == this) {
        // Inserting a vector's own range into itself is undefined; copy first.
        const ReadingSeries copy = other;  // (default memory: a short-lived copy)
        merge(copy);
        return;
    }
    t_.insert(t_.end(), other.t_.begin(), other.t_.end());
    temperature_.insert(temperature_.end(), other.temperature_.begin(), other.temperature_.end());
}

std::vector<Reading> ReadingSeries::sorted_deduplicated() const {
    std::vector<Reading> readings(t_.size());
    for (std::size_t i = 0; i < t_.size(); ++i) readings[i] = {t_[i], temperature_[i]};
    return deduplicate(std::move(readings));
}

std::vector<std::uint8_t> ReadingSeries::serialize() const {
    ByteWriter w(tags::reading_series, kSeriesVersion);
    w.f64s(t_);
    w.f64s(temperature_);
    return w.take();
}

ReadingSeries ReadingSeries::deserialize(const std::uint8_t* data, std::size_t size) {
    const char* what = "temperature reading series";
    ByteReader r(data, size, tags::reading_series, kSeriesVersion, what);
    ReadingSeries s;
    const std::vector<double> t = r.f64s();
    const std::vector<double> temperature = r.f64s();
    s.t_.assign(t.begin(), t.end());
    s.temperature_.assign(temperature.begin(), temperature.end());
    r.expect_end();
    if (s.t_.size() != s.temperature_.size())
        throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: column lengths differ");
    // add() never stores these, so they can only come from corruption.
    for (std::size_t i = 0; i < s.t_.size(); ++i)
        if (!std::isfinite(s.t_[i]) || !std::isfinite(s.temperature_[i]))
            throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: non-finite reading");
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
