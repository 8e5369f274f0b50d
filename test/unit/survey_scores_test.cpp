// NPS and CSAT against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "expect_error.hpp"
#include "survey_scores.hpp"

namespace {

TEST(Nps, HandComputedScoreAndInterval) {
    // 10, 10, 9 promoters; 8, 7 passives; 6, 0 detractors: NPS = 100 (3 - 2) / 7.
    crm::SurveyCounts s(crm::SurveyScale::Nps);
    for (const double x : {10.0, 10.0, 9.0, 8.0, 7.0, 6.0, 0.0}) s.add(x);
    const crm::NpsResult r = crm::nps_result(s, 0.95);
    EXPECT_EQ(r.responses, 7);
    EXPECT_EQ(r.promoters, 3);
    EXPECT_EQ(r.passives, 2);
    EXPECT_EQ(r.detractors, 2);
    EXPECT_NEAR(r.nps, 100.0 / 7.0, 1e-12);
    // var = (3/7 + 2/7 - (1/7)^2) / 7 = 34/343; z(0.975) = 1.959963984540054.
    const double half = 100.0 * 1.959963984540054 * std::sqrt(34.0 / 343.0);
    EXPECT_NEAR(r.ci_low, 100.0 / 7.0 - half, 1e-9);
    EXPECT_NEAR(r.ci_high, 100.0 / 7.0 + half, 1e-9);
}

TEST(Nps, MergeIsExactAndScalesAreKeptApart) {
    crm::SurveyCounts a(crm::SurveyScale::Nps), b(crm::SurveyScale::Nps), all(crm::SurveyScale::Nps);
    for (int i = 0; i < 50; ++i) {
        (i % 2 ? a : b).add(i % 11);
        all.add(i % 11);
    }
    a.merge(b);
    const auto bytes = a.serialize();
    const crm::SurveyCounts back = crm::SurveyCounts::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(crm::nps_result(back, 0.9).nps, crm::nps_result(all, 0.9).nps);
    crm::SurveyCounts csat(crm::SurveyScale::Csat);
    EXPECT_ERROR_KIND(a.merge(csat), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(a.add(11), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(a.add(7.5), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(a.add(std::nan("")), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(csat.add(0), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::nps_result(a, 1.0), crm::ErrorKind::InvalidParameter);
    EXPECT_TRUE(std::isnan(crm::nps_result(crm::SurveyCounts(crm::SurveyScale::Nps), 0.95).nps));
    // An empty state of unknown scale (the generic combine's start) takes the scale merged into it,
    // survives serialisation, and still keeps NPS and CSAT apart.
    crm::SurveyCounts empty;
    const auto empty_bytes = empty.serialize();
    crm::SurveyCounts fresh = crm::SurveyCounts::deserialize(empty_bytes.data(), empty_bytes.size());
    EXPECT_EQ(fresh.scale(), crm::SurveyScale::Unknown);
    EXPECT_ERROR_KIND(fresh.add(5), crm::ErrorKind::InvalidParameter);
    fresh.merge(csat);
    EXPECT_EQ(fresh.scale(), crm::SurveyScale::Csat);
    EXPECT_ERROR_KIND(fresh.merge(a), crm::ErrorKind::InvalidParameter);
    a.merge(crm::SurveyCounts());
    EXPECT_EQ(a.scale(), crm::SurveyScale::Nps);
}

TEST(Csat, TopTwoBoxWithTheWilsonInterval) {
    crm::SurveyCounts s(crm::SurveyScale::Csat);
    for (const double x : {5.0, 4.0, 4.0, 3.0, 1.0}) s.add(x);
    const crm::CsatResult r = crm::csat_result(s, 0.95);
    EXPECT_EQ(r.responses, 5);
    EXPECT_EQ(r.satisfied, 3);
    EXPECT_NEAR(r.csat, 60.0, 1e-12);
    // Wilson: centre (p + z^2/2n) / (1 + z^2/n), half z/(1 + z^2/n) sqrt(p(1-p)/n + z^2/4n^2).
    const double z = 1.959963984540054, n = 5, p = 0.6, z2 = z * z;
    const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    EXPECT_NEAR(r.ci_low, 100 * (centre - half), 1e-9);
    EXPECT_NEAR(r.ci_high, 100 * (centre + half), 1e-9);
    EXPECT_NEAR(r.ci_low, 23.07, 0.01);
    EXPECT_NEAR(r.ci_high, 88.24, 0.01);
}

}  // namespace
