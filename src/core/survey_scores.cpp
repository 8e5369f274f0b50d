#include "survey_scores.hpp"

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "byte_io.hpp"
#include "campaign.hpp"
#include "checked_count.hpp"
#include "errors.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kVersion = 1;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The answers a scale allows; none for an unknown scale.
int low(SurveyScale s) { return s == SurveyScale::Nps ? 0 : 1; }
int high(SurveyScale s) { return s == SurveyScale::Nps ? 10 : s == SurveyScale::Csat ? 5 : 0; }

// The upper (1 - confidence) / 2 quantile of the standard normal, from the tail.
double z_critical(double confidence) {
    check_confidence(confidence);
    return boost::math::quantile(boost::math::complement(boost::math::normal(), (1.0 - confidence) / 2.0));
}
}  // namespace

void SurveyCounts::add(double score) {
    if (scale_ == SurveyScale::Unknown) throw_invalid("a survey state of unknown scale takes no answers");
    const int lo = low(scale_), hi = high(scale_);
    if (!(score >= lo && score <= hi) || score != std::floor(score))
        throw_invalid(std::string(scale_ == SurveyScale::Nps ? "NPS" : "CSAT") + " scores must be whole numbers from " +
                      std::to_string(lo) + " to " + std::to_string(hi) + ", got " + std::to_string(score));
    auto& c = counts_[static_cast<std::size_t>(score)];
    c = add_counts(c, 1, "answer");
}

void SurveyCounts::set_confidence(double confidence) {
    check_confidence(confidence);
    if (has_confidence_ && confidence != confidence_) throw_invalid("confidence must be the same on every row");
    confidence_ = confidence;
    has_confidence_ = true;
}

void SurveyCounts::merge(const SurveyCounts& other) {
    if (scale_ == SurveyScale::Unknown) scale_ = other.scale_;
    if (other.scale_ != scale_ && other.scale_ != SurveyScale::Unknown) throw_invalid("cannot combine NPS and CSAT states");
    if (other.has_confidence_) set_confidence(other.confidence_);
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] = add_counts(counts_[i], other.counts_[i], "answer");
}

std::int64_t SurveyCounts::responses() const {
    std::int64_t n = 0;
    for (const std::int64_t c : counts_) n = add_counts(n, c, "answer");
    return n;
}

std::int64_t SurveyCounts::count(int score) const {
    return score >= 0 && score <= 10 ? counts_[static_cast<std::size_t>(score)] : 0;
}

std::vector<std::uint8_t> SurveyCounts::serialize() const {
    ByteWriter w(tags::survey_counts, kVersion);
    w.u8(static_cast<std::uint8_t>(scale_));
    w.u8(has_confidence_ ? 1 : 0);
    w.f64(confidence_);
    for (const std::int64_t c : counts_) w.i64(c);
    return w.take();
}

SurveyCounts SurveyCounts::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::survey_counts, kVersion, "survey state");
    const std::uint8_t scale = r.u8();
    if (scale > static_cast<std::uint8_t>(SurveyScale::Csat))
        throw Error(ErrorKind::InvalidBinary, "invalid survey state value: bad scale");
    SurveyCounts s(static_cast<SurveyScale>(scale));
    const std::uint8_t has_confidence = r.u8();
    const double confidence = r.f64();
    if (has_confidence > 1 || (has_confidence == 1 && !(confidence > 0 && confidence < 1)))
        throw Error(ErrorKind::InvalidBinary, "invalid survey state value: bad confidence");
    s.has_confidence_ = has_confidence == 1;
    s.confidence_ = s.has_confidence_ ? confidence : 0.95;
    for (std::size_t i = 0; i < s.counts_.size(); ++i) s.counts_[i] = stored_count(r.i64(), "answer");
    r.expect_end();
    for (int i = 0; i < 11; ++i)
        if ((i < low(s.scale_) || i > high(s.scale_)) && s.counts_[static_cast<std::size_t>(i)] != 0)
            throw Error(ErrorKind::InvalidBinary, "invalid survey state value: a count off the scale");
    return s;
}

NpsResult nps_result(const SurveyCounts& counts, double confidence) {
    if (counts.scale() != SurveyScale::Nps) throw_invalid("not an NPS state");
    const double z = z_critical(confidence);
    NpsResult r;
    for (int s = 0; s <= 10; ++s) {
        const std::int64_t c = counts.count(s);
        if (s >= 9) r.promoters += c;
        else if (s >= 7) r.passives += c;
        else r.detractors += c;
    }
    r.responses = counts.responses();
    if (r.responses == 0) {
        r.nps = r.ci_low = r.ci_high = kNaN;
        return r;
    }
    const double n = static_cast<double>(r.responses);
    const double p9 = static_cast<double>(r.promoters) / n, p6 = static_cast<double>(r.detractors) / n;
    // From the counts, so that a share like 3/5 - 6/10 gives exactly 0 and -60 prints as -60.
    r.nps = 100.0 * static_cast<double>(r.promoters - r.detractors) / n;
    if (r.responses < 2) {
        r.ci_low = r.ci_high = kNaN;
        return r;
    }
    const double se = std::sqrt(std::max(0.0, p9 + p6 - (p9 - p6) * (p9 - p6)) / n);
    r.ci_low = std::max(-100.0, r.nps - 100.0 * z * se);
    r.ci_high = std::min(100.0, r.nps + 100.0 * z * se);
    return r;
}

CsatResult csat_result(const SurveyCounts& counts, double confidence) {
    if (counts.scale() != SurveyScale::Csat) throw_invalid("not a CSAT state");
    const double z = z_critical(confidence);
    CsatResult r;
    r.responses = counts.responses();
    r.satisfied = counts.count(4) + counts.count(5);
    if (r.responses == 0) {
        r.csat = r.ci_low = r.ci_high = kNaN;
        return r;
    }
    const double n = static_cast<double>(r.responses), p = static_cast<double>(r.satisfied) / n;
    r.csat = 100.0 * static_cast<double>(r.satisfied) / n;
    // Wilson score interval: stays inside [0, 1] and behaves at p = 0 or 1.
    const double z2 = z * z, centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    r.ci_low = 100.0 * std::max(0.0, centre - half);
    r.ci_high = 100.0 * std::min(1.0, centre + half);
    return r;
}

}  // namespace crm
