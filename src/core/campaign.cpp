#include "campaign.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <string>

#include "byte_io.hpp"
#include "checked_count.hpp"
#include "errors.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kStateVersion = 1;

void write(ByteWriter& w, const MeanAccumulator& a) {
    w.i64(a.n);
    w.f64(a.mean);
    w.f64(a.m2);
}

MeanAccumulator read_accumulator(ByteReader& r) {
    MeanAccumulator a;
    a.n = r.i64();
    a.mean = r.f64();
    a.m2 = r.f64();
    if (a.n < 0 || !std::isfinite(a.mean) || !std::isfinite(a.m2) || a.m2 < 0)
        throw Error(ErrorKind::InvalidBinary, "invalid campaign uplift state value: bad accumulator");
    return a;
}
// The critical value of a two-sided interval: the upper (1 - confidence) / 2
// quantile, taken from the upper tail so a confidence such as
// 0.9999999999999999 keeps its precision (0.5 + confidence / 2 would round to
// 1, where the quantile is infinite).
template <typename Distribution>
double two_sided_critical(const Distribution& dist, double confidence) {
    try {
        return boost::math::quantile(boost::math::complement(dist, (1.0 - confidence) / 2.0));
    } catch (const std::exception&) {
        throw_error(ErrorKind::OutOfRange, "no finite critical value for confidence " + std::to_string(confidence),
                    "Use a confidence further from 1, such as 0.95 or 0.99.");
    }
}
}  // namespace

void check_confidence(double confidence) {
    if (!(confidence > 0.0 && confidence < 1.0))
        throw_invalid("confidence must be between 0 and 1 (exclusive), got " + std::to_string(confidence));
}

namespace {
// Both campaign states carry the confidence of their rows; an empty state
// takes the other's, two non-empty states must agree.
void merge_confidence(double& mine, bool mine_empty, double theirs, bool theirs_empty) {
    if (mine_empty) {
        mine = theirs;
    } else if (!theirs_empty && theirs != mine) {
        throw_invalid("confidence must be the same on every row");
    }
}
}  // namespace

void MeanAccumulator::add(double x) {
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
}

void MeanAccumulator::merge(const MeanAccumulator& other) {
    if (other.n == 0) return;
    if (n == 0) {
        *this = other;
        return;
    }
    const double total = static_cast<double>(n + other.n);
    const double delta = other.mean - mean;
    mean += delta * static_cast<double>(other.n) / total;
    m2 += other.m2 + delta * delta * static_cast<double>(n) * static_cast<double>(other.n) / total;
    n = add_counts(n, other.n, "group");
}

double MeanAccumulator::sample_variance() const {
    return n >= 2 ? m2 / static_cast<double>(n - 1) : std::nan("");
}

void UpliftState::add(bool is_treatment, double revenue) {
    if (!std::isfinite(revenue))
        throw_invalid(std::string("revenue must be a finite number, got ") +
                      (std::isnan(revenue) ? "NaN" : (revenue > 0 ? "Infinity" : "-Infinity")));
    (is_treatment ? treated : control).add(revenue);
}

void UpliftState::merge(const UpliftState& other) {
    merge_confidence(confidence, treated.n + control.n + skipped == 0, other.confidence,
                     other.treated.n + other.control.n + other.skipped == 0);
    treated.merge(other.treated);
    control.merge(other.control);
    skipped = add_counts(skipped, other.skipped, "skipped row");
}

std::vector<std::uint8_t> UpliftState::serialize() const {
    ByteWriter w(tags::uplift_state, kStateVersion);
    write(w, treated);
    write(w, control);
    w.i64(skipped);
    w.f64(confidence);
    return w.take();
}

UpliftState UpliftState::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::uplift_state, kStateVersion, "campaign uplift state");
    UpliftState s;
    s.treated = read_accumulator(r);
    s.control = read_accumulator(r);
    s.skipped = stored_count(r.i64(), "skipped row");
    s.confidence = r.f64();
    r.expect_end();
    if (s.skipped < 0 || !(s.confidence > 0.0 && s.confidence < 1.0))
        throw Error(ErrorKind::InvalidBinary, "invalid campaign uplift state value: bad counts or confidence");
    return s;
}

UpliftResult welch_uplift(const UpliftState& s, double confidence) {
    check_confidence(confidence);
    UpliftResult out;
    out.treated_n = s.treated.n;
    out.control_n = s.control.n;
    out.skipped = s.skipped;
    if (s.treated.n > 0) out.treated_mean = s.treated.mean;
    if (s.control.n > 0) out.control_mean = s.control.mean;
    if (s.treated.n == 0 || s.control.n == 0) return out;
    const double uplift = s.treated.mean - s.control.mean;
    out.uplift = uplift;
    out.incremental_revenue = uplift * static_cast<double>(s.treated.n);
    if (s.treated.n < 2 || s.control.n < 2) return out;

    const double a = s.treated.sample_variance() / static_cast<double>(s.treated.n);
    const double b = s.control.sample_variance() / static_cast<double>(s.control.n);
    const double se = std::sqrt(a + b);
    if (!(se > 0.0)) return out;  // both groups constant: no test
    // Welch-Satterthwaite degrees of freedom.
    const double df = (a + b) * (a + b) /
                      (a * a / static_cast<double>(s.treated.n - 1) + b * b / static_cast<double>(s.control.n - 1));
    const boost::math::students_t dist(df);
    const double t_crit = two_sided_critical(dist, confidence);
    const double t = uplift / se;
    out.std_error = se;
    out.df = df;
    out.ci_low = uplift - t_crit * se;
    out.ci_high = uplift + t_crit * se;
    out.p_value = 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(t)));
    return out;
}

void ConversionState::add(bool is_treatment, bool converted) {
    if (is_treatment) {
        ++treated_n;
        if (converted) ++treated_converted;
    } else {
        ++control_n;
        if (converted) ++control_converted;
    }
}

void ConversionState::merge(const ConversionState& o) {
    merge_confidence(confidence, treated_n + control_n + skipped == 0, o.confidence,
                     o.treated_n + o.control_n + o.skipped == 0);
    treated_n = add_counts(treated_n, o.treated_n, "treated");
    treated_converted = add_counts(treated_converted, o.treated_converted, "treated conversion");
    control_n = add_counts(control_n, o.control_n, "control");
    control_converted = add_counts(control_converted, o.control_converted, "control conversion");
    skipped = add_counts(skipped, o.skipped, "skipped row");
}

std::vector<std::uint8_t> ConversionState::serialize() const {
    ByteWriter w(tags::conversion_state, kStateVersion);
    w.i64(treated_n);
    w.i64(treated_converted);
    w.i64(control_n);
    w.i64(control_converted);
    w.i64(skipped);
    w.f64(confidence);
    return w.take();
}

ConversionState ConversionState::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::conversion_state, kStateVersion, "conversion uplift state");
    ConversionState s;
    s.treated_n = stored_count(r.i64(), "treated");
    s.treated_converted = stored_count(r.i64(), "treated conversion");
    s.control_n = stored_count(r.i64(), "control");
    s.control_converted = stored_count(r.i64(), "control conversion");
    s.skipped = stored_count(r.i64(), "skipped row");
    s.confidence = r.f64();
    r.expect_end();
    if (!(s.confidence > 0.0 && s.confidence < 1.0))
        throw Error(ErrorKind::InvalidBinary, "invalid conversion uplift state value: bad confidence");
    if (s.treated_n < 0 || s.control_n < 0 || s.treated_converted < 0 || s.control_converted < 0 ||
        s.treated_converted > s.treated_n || s.control_converted > s.control_n || s.skipped < 0)
        throw Error(ErrorKind::InvalidBinary, "invalid conversion uplift state value: inconsistent counts");
    return s;
}

ConversionResult conversion_uplift(const ConversionState& s, double confidence) {
    check_confidence(confidence);
    ConversionResult out;
    out.treated_n = s.treated_n;
    out.control_n = s.control_n;
    out.treated_converted = s.treated_converted;
    out.control_converted = s.control_converted;
    out.skipped = s.skipped;
    const double n1 = static_cast<double>(s.treated_n);
    const double n0 = static_cast<double>(s.control_n);
    if (s.treated_n > 0) out.treated_rate = static_cast<double>(s.treated_converted) / n1;
    if (s.control_n > 0) out.control_rate = static_cast<double>(s.control_converted) / n0;
    if (s.treated_n == 0 || s.control_n == 0) return out;
    const double p1 = *out.treated_rate;
    const double p0 = *out.control_rate;
    out.uplift = p1 - p0;
    out.incremental_conversions = (p1 - p0) * n1;
    if (s.treated_n < 2 || s.control_n < 2) return out;
    const boost::math::normal standard;
    const double z_crit = two_sided_critical(standard, confidence);
    const double se = std::sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0);
    if (se > 0.0) {
        out.ci_low = (p1 - p0) - z_crit * se;
        out.ci_high = (p1 - p0) + z_crit * se;
    }
    const double pooled = static_cast<double>(s.treated_converted + s.control_converted) / (n1 + n0);
    const double se_pooled = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0));
    if (se_pooled > 0.0)
        out.p_value = 2.0 * boost::math::cdf(boost::math::complement(standard, std::fabs(p1 - p0) / se_pooled));
    return out;
}

}  // namespace crm
