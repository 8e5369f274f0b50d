// RFM scoring, the aggregate state's byte format, and the NTILE method.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "errors.hpp"
#include "expect_error.hpp"
#include "rfm.hpp"

namespace {

crm::RfmSample ten_customers() {
    crm::RfmSample s;
    // recency 1..10 days, frequency 1..10, monetary 10..100
    for (int i = 1; i <= 10; ++i) s.add(i, i, 10.0 * i);
    return s;
}

TEST(Rfm, ThresholdsAreQuantiles) {
    const auto t = ten_customers().thresholds(5);
    EXPECT_EQ(t.bins, 5);
    EXPECT_EQ(t.customers, 10);
    // numpy.quantile(np.arange(1., 11.), [1/5, 2/5, 3/5, 4/5]) to the bit
    ASSERT_EQ(t.recency.size(), 4u);
    EXPECT_DOUBLE_EQ(t.recency[0], 2.8);
    EXPECT_DOUBLE_EQ(t.recency[1], 4.6);
    EXPECT_DOUBLE_EQ(t.recency[2], 6.4);
    EXPECT_DOUBLE_EQ(t.recency[3], 8.2);
    EXPECT_DOUBLE_EQ(t.monetary[0], 28.0);
}

TEST(Rfm, RecencyIsReversedOthersAreNot) {
    const auto t = ten_customers().thresholds(5);
    const auto recent = crm::score_customer(t, 1, 10, 100);
    EXPECT_EQ(recent.r, 5);
    EXPECT_EQ(recent.f, 5);
    EXPECT_EQ(recent.m, 5);
    const auto old = crm::score_customer(t, 10, 1, 10);
    EXPECT_EQ(old.r, 1);
    EXPECT_EQ(old.f, 1);
    EXPECT_EQ(old.m, 1);
    EXPECT_EQ(crm::rfm_cell(recent, 5), "555");
    EXPECT_EQ(crm::rfm_cell({10, 9, 1}, 10), "10-9-1");
}

TEST(Rfm, EqualValuesGetEqualScores) {
    crm::RfmSample s;
    for (int i = 0; i < 50; ++i) s.add(30, 1, 20);   // half the customers bought once
    for (int i = 0; i < 50; ++i) s.add(i, 2 + i, 20 + i);
    const auto scores = s.score_all_quantile(5);
    for (int i = 1; i < 50; ++i) {
        EXPECT_EQ(scores[i].f, scores[0].f);
        EXPECT_EQ(scores[i].r, scores[0].r);
    }
    EXPECT_EQ(scores[0].f, 1);
}

TEST(Rfm, NtileOrdersTiesByInsertionOrder) {
    // Four customers, all frequency 1, added in key order: NTILE(2) gives 1,1,2,2.
    crm::RfmSample s;
    for (int i = 0; i < 4; ++i) s.add(5, 1, 10);
    const auto scores = s.score_all_ntile(2);
    EXPECT_EQ(scores[0].f, 1);
    EXPECT_EQ(scores[1].f, 1);
    EXPECT_EQ(scores[2].f, 2);
    EXPECT_EQ(scores[3].f, 2);
    // Recency is ranked descending: NTILE(2) OVER (ORDER BY recency DESC, key).
    EXPECT_EQ(scores[0].r, 1);
    EXPECT_EQ(scores[3].r, 2);
}

TEST(Rfm, NtileRecencyMostRecentIsBest) {
    crm::RfmSample s;
    s.add(100, 1, 1);
    s.add(1, 1, 1);
    s.add(50, 1, 1);
    const auto scores = s.score_all_ntile(3);
    EXPECT_EQ(scores[0].r, 1);
    EXPECT_EQ(scores[1].r, 3);
    EXPECT_EQ(scores[2].r, 2);
}

TEST(Rfm, RejectsNonFiniteAndBadBins) {
    crm::RfmSample s;
    EXPECT_ERROR_KIND(s.add(std::nan(""), 1, 1), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(s.add(1, std::numeric_limits<double>::infinity(), 1), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(ten_customers().thresholds(1), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(ten_customers().thresholds(11), crm::ErrorKind::InvalidParameter);
    EXPECT_NO_THROW(ten_customers().thresholds(10));
}

TEST(RfmAccumulator, SerialisationRoundTrips) {
    crm::RfmAccumulator a;
    a.add(4, 1.5, 2, -3.25);  // refunds make monetary negative
    a.add(4, 7, 1, 100);
    const auto bytes = a.serialize();
    const auto b = crm::RfmAccumulator::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(b.bins, 4);
    EXPECT_EQ(b.sample.recency(), a.sample.recency());
    EXPECT_EQ(b.sample.monetary(), a.sample.monetary());
    // Byte format is fixed: tag, version, then little-endian fields.
    EXPECT_EQ(bytes[0], 0x53);
    EXPECT_EQ(bytes[1], 1);
    EXPECT_EQ(bytes[2], 4);
}

TEST(RfmAccumulator, CorruptBytesAreErrorsNotCrashes) {
    crm::RfmAccumulator a;
    for (int i = 0; i < 10; ++i) a.add(5, i, i, i);
    const auto bytes = a.serialize();
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        SCOPED_TRACE("truncated at " + std::to_string(cut));
        EXPECT_ERROR_KIND(crm::RfmAccumulator::deserialize(bytes.data(), cut), crm::ErrorKind::InvalidBinary);
    }
    auto wrong_version = bytes;
    wrong_version[1] = 99;
    EXPECT_ERROR_KIND(crm::RfmAccumulator::deserialize(wrong_version.data(), wrong_version.size()), crm::ErrorKind::InvalidBinary);
    auto huge_length = bytes;
    huge_length[14 + 2] = 0xFF;  // inner sample's first array length
    EXPECT_ERROR_KIND(crm::RfmAccumulator::deserialize(huge_length.data(), huge_length.size()), crm::ErrorKind::InvalidBinary);
}

TEST(RfmAccumulator, MergeChecksBins) {
    crm::RfmAccumulator a, b, empty;
    a.add(5, 1, 1, 1);
    b.add(4, 1, 1, 1);
    EXPECT_ERROR_KIND(a.merge(b), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(a.add(6, 1, 1, 1), crm::ErrorKind::InvalidParameter);
    empty.merge(a);
    EXPECT_EQ(empty.bins, 5);
    EXPECT_EQ(empty.sample.size(), 1u);
}

}  // namespace
