// Survey KPIs as parallel aggregates: Net Promoter Score over 0-10 answers and
// CSAT (top-two-box) over 1-5 answers. The state is one count per possible
// answer, so it merges exactly and stays tiny whatever the number of answers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace crm {

enum class SurveyScale : std::uint8_t {
    Unknown = 0,  // not yet known: an empty state, which takes the scale of the first state merged into it
    Nps = 1,   // 0 .. 10
    Csat = 2,  // 1 .. 5
};

class SurveyCounts {
public:
    explicit SurveyCounts(SurveyScale scale = SurveyScale::Unknown) : scale_(scale) {}

    // One answer: a whole number on the scale (22023 otherwise, naming it).
    void add(double score);
    // The confidence of the interval, the same on every row (22023 otherwise;
    // it must lie in (0, 1)); 0.95 when never set.
    void set_confidence(double confidence);
    double confidence() const { return has_confidence_ ? confidence_ : 0.95; }
    // The other state must be of the same scale and confidence (22023); an
    // empty state of unknown scale takes the other's (as the generic combine
    // starts from a default-constructed state);
    // counts are checked for overflow (22003).
    void merge(const SurveyCounts& other);

    SurveyScale scale() const { return scale_; }
    std::int64_t responses() const;
    std::int64_t count(int score) const;  // answers equal to score

    std::vector<std::uint8_t> serialize() const;
    static SurveyCounts deserialize(const std::uint8_t* data, std::size_t size);

private:
    SurveyScale scale_;
    bool has_confidence_ = false;
    double confidence_ = 0.95;
    std::array<std::int64_t, 11> counts_{};  // indexed by score (NPS 0..10, CSAT 1..5)
};

// NPS = 100 (share of promoters 9-10 - share of detractors 0-6), with the
// normal interval of a difference of two proportions from one multinomial
// sample: var(p9 - p6) = (p9 + p6 - (p9 - p6)^2) / n. NaN fields when n = 0
// (interval: when n < 2).
struct NpsResult {
    std::int64_t responses = 0, promoters = 0, passives = 0, detractors = 0;
    double nps = 0.0, ci_low = 0.0, ci_high = 0.0;
};
NpsResult nps_result(const SurveyCounts& counts, double confidence);

// CSAT = 100 x share of 4 and 5 answers, with the Wilson score interval.
struct CsatResult {
    std::int64_t responses = 0, satisfied = 0;
    double csat = 0.0, ci_low = 0.0, ci_high = 0.0;
};
CsatResult csat_result(const SurveyCounts& counts, double confidence);

}  // namespace crm
