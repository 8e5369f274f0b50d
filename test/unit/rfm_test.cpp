// RFM scoring, the aggregate state's byte format, and the NTILE method.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "byte_io.hpp"
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
    EXPECT_EQ(bytes[1], 2);
    EXPECT_EQ(bytes[2], 4);
}

// Version 2 writes a measure that repeats its values as (value, count) runs: the merged sample has the same values (in another order), so the
// same cut points; a measure of distinct values stays raw, in its order.
TEST(RfmAccumulator, RepeatedValuesTravelAsRuns) {
    crm::RfmAccumulator a;
    for (int i = 0; i < 100000; ++i) a.add(5, (i * 7919) % 365, 1 + i % 12, i * 0.37);
    const auto bytes = a.serialize();
    EXPECT_LT(bytes.size(), 100000u * 8 + 20000);  // monetary raw (800 kB), recency and frequency as runs
    const auto b = crm::RfmAccumulator::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(b.sample.monetary(), a.sample.monetary());
    auto sorted = [](const std::pmr::vector<double>& v) {
        std::vector<double> s(v.begin(), v.end());
        std::sort(s.begin(), s.end());
        return s;
    };
    EXPECT_EQ(sorted(b.sample.recency()), sorted(a.sample.recency()));
    EXPECT_EQ(sorted(b.sample.frequency()), sorted(a.sample.frequency()));
    const crm::RfmThresholds ta = a.sample.thresholds(5), tb = b.sample.thresholds(5);
    EXPECT_EQ(ta.recency, tb.recency);
    EXPECT_EQ(ta.frequency, tb.frequency);
    EXPECT_EQ(ta.monetary, tb.monetary);
    // Corrupted run counts are errors (22P03), or at worst an allocation that
    // fails cleanly (53200 in the database), never a crash.
    for (std::size_t at = 14 + 3; at < 14 + 3 + 40; ++at) {
        auto bad = bytes;
        bad[at] ^= 0xFF;
        try {
            (void)crm::RfmAccumulator::deserialize(bad.data(), bad.size());
        } catch (const crm::Error& e) {
            EXPECT_EQ(e.kind(), crm::ErrorKind::InvalidBinary);
        } catch (const std::bad_alloc&) {
        }
    }
}

// States written by 0.1.0 (version 1: three raw arrays) still read.
TEST(RfmAccumulator, ReadsVersionOneStates) {
    crm::ByteWriter inner(0x52, 1);  // tags::rfm_sample, version 1
    inner.f64s(std::vector<double>{3, 1});
    inner.f64s(std::vector<double>{2, 5});
    inner.f64s(std::vector<double>{10, 20});
    crm::ByteWriter outer(0x53, 1);
    outer.u32(5);
    outer.blob(inner.take());
    const auto bytes = outer.take();
    const auto b = crm::RfmAccumulator::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(b.bins, 5);
    EXPECT_EQ(std::vector<double>(b.sample.recency().begin(), b.sample.recency().end()), (std::vector<double>{3, 1}));
    EXPECT_EQ(std::vector<double>(b.sample.monetary().begin(), b.sample.monetary().end()), (std::vector<double>{10, 20}));
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

namespace {

// The accumulator writes its sample in place; the bytes must stay those of a
// nested blob (u64 length, then the sample's own serialisation), so states
// from other builds and shards still read.
TEST(Rfm, AccumulatorNestsTheSampleBytesAsABlob) {
    crm::RfmAccumulator acc;
    for (int i = 0; i < 100; ++i) acc.add(5, i, i % 7, i * 1.5);
    const std::vector<std::uint8_t> bytes = acc.serialize();
    const std::vector<std::uint8_t> inner = acc.sample.serialize();
    ASSERT_EQ(bytes.size(), 14 + inner.size());
    std::uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= static_cast<std::uint64_t>(bytes[6 + i]) << (8 * i);
    EXPECT_EQ(length, inner.size());
    EXPECT_TRUE(std::equal(inner.begin(), inner.end(), bytes.begin() + 14));
    const crm::RfmAccumulator back = crm::RfmAccumulator::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.bins, 5);
    EXPECT_EQ(back.sample.monetary(), acc.sample.monetary());
}

}  // namespace
