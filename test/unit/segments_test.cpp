// The default 10-segment grid and user-supplied segment maps.
#include <gtest/gtest.h>

#include <set>

#include "errors.hpp"
#include "expect_error.hpp"
#include "segments.hpp"

namespace {

TEST(Segments, DefaultGridCells) {
    const auto map = crm::SegmentMap::default_grid(5);
    EXPECT_EQ(map.segment(5, 5), "Champions");
    EXPECT_EQ(map.segment(5, 4), "Champions");
    EXPECT_EQ(map.segment(4, 4), "Loyal Customers");
    EXPECT_EQ(map.segment(3, 5), "Loyal Customers");
    EXPECT_EQ(map.segment(4, 2), "Potential Loyalists");
    EXPECT_EQ(map.segment(5, 3), "Potential Loyalists");
    EXPECT_EQ(map.segment(5, 1), "New Customers");
    EXPECT_EQ(map.segment(4, 1), "Promising");
    EXPECT_EQ(map.segment(3, 3), "Need Attention");
    EXPECT_EQ(map.segment(3, 1), "About To Sleep");
    EXPECT_EQ(map.segment(3, 2), "About To Sleep");
    EXPECT_EQ(map.segment(1, 5), "Can't Lose Them");
    EXPECT_EQ(map.segment(2, 3), "At Risk");
    EXPECT_EQ(map.segment(1, 4), "At Risk");
    EXPECT_EQ(map.segment(2, 2), "Hibernating");
    EXPECT_EQ(map.segment(1, 1), "Hibernating");
}

TEST(Segments, DefaultGridUsesAllTenNames) {
    const auto map = crm::SegmentMap::default_grid(5);
    std::set<std::string> names;
    for (int r = 1; r <= 5; ++r)
        for (int f = 1; f <= 5; ++f) names.insert(map.segment(r, f));
    EXPECT_EQ(names.size(), 10u);
}

TEST(Segments, OtherBinCountsAreRescaled) {
    const auto ten = crm::SegmentMap::default_grid(10);
    EXPECT_EQ(ten.segment(10, 10), "Champions");
    EXPECT_EQ(ten.segment(1, 1), "Hibernating");
    EXPECT_EQ(ten.segment(10, 1), "New Customers");
    const auto three = crm::SegmentMap::default_grid(3);
    EXPECT_EQ(three.segment(3, 3), "Champions");   // 3 -> 5
    EXPECT_EQ(three.segment(1, 1), "Hibernating"); // 1 -> 2
}

TEST(Segments, CustomMapMustBeAPartition) {
    using Rules = std::vector<crm::SegmentRule>;
    EXPECT_NO_THROW(crm::SegmentMap::from_rules(2, Rules{{"Good", "2*"}, {"Bad", "1*"}}));
    std::string msg = crm_test::expect_error_kind([] { crm::SegmentMap::from_rules(2, Rules{{"Good", "2*"}}); },
                                                  crm::ErrorKind::InvalidParameter);
    EXPECT_NE(msg.find("unassigned"), std::string::npos) << msg;
    msg = crm_test::expect_error_kind(
        [] { crm::SegmentMap::from_rules(2, Rules{{"Good", "2*"}, {"Bad", "**"}}); }, crm::ErrorKind::InvalidParameter);
    EXPECT_NE(msg.find("both"), std::string::npos) << msg;
}

TEST(Segments, PatternSyntax) {
    using Rules = std::vector<crm::SegmentRule>;
    const auto map = crm::SegmentMap::from_rules(10, Rules{{"Top", "10,[8-10]"}, {"Rest", "10,[1-7]"},
                                                          {"Others", "[1-9]*"}});
    EXPECT_EQ(map.segment(10, 9), "Top");
    EXPECT_EQ(map.segment(10, 7), "Rest");
    EXPECT_EQ(map.segment(9, 10), "Others");
    const auto two_digit_f = crm::SegmentMap::from_rules(10, Rules{{"Top", "10,10"}, {"A", "10:[1-9]"},
                                                                  {"B", "[1-9] *"}});
    EXPECT_EQ(two_digit_f.segment(10, 10), "Top");
    EXPECT_EQ(two_digit_f.segment(10, 9), "A");
    EXPECT_EQ(two_digit_f.segment(9, 10), "B");
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(10, Rules{{"X", "1010"}}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(10, Rules{{"X", "100,1"}}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(5, Rules{{"X", "6*"}}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(5, Rules{{"X", "[3-1]*"}}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(5, Rules{{"X", "5"}}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(5, Rules{{"X", "**x"}}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(5, Rules{{"", "**"}}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(5, Rules{}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::SegmentMap::from_rules(11, Rules{{"X", "**"}}), crm::ErrorKind::InvalidParameter);
}

TEST(Segments, ScoresOutOfRange) {
    const auto map = crm::SegmentMap::default_grid(5);
    EXPECT_ERROR_KIND(map.segment(0, 1), crm::ErrorKind::OutOfRange);
    EXPECT_ERROR_KIND(map.segment(1, 6), crm::ErrorKind::OutOfRange);
}

}  // namespace
