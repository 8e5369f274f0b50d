// The per-query memo of BG/NBD's series: the same bits as computing each
// customer's expectation afresh, for expected purchases and CLV, across
// parameter changes and past its size limit.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "clv_bgnbd.hpp"
#include "clv_memo.hpp"
#include "clv_value.hpp"
#include "errors.hpp"
#include "expect_error.hpp"

namespace {

using crm::clv::ClvScoringMemo;
using crm::clv::BgNbdParams;

struct Customer {
    double x, t_x, T;
};

// Ages in whole days (in weeks), so that customers share (x, T), as in a real base.
std::vector<Customer> customers(int n, std::uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Customer> out;
    for (int i = 0; i < n; ++i) {
        const double T = static_cast<double>(rng() % 400) / 7.0;
        const double x = rng() % 3 == 0 ? 0.0 : static_cast<double>(rng() % 12);
        const double t_x = x == 0.0 ? 0.0 : T * static_cast<double>(rng() % 1000) / 1000.0;
        out.push_back({x, t_x, T});
    }
    return out;
}

TEST(ClvScoringMemo, SameBitsAsTheSeries) {
    const BgNbdParams p{0.25, 4.0, 0.8, 2.5};
    const BgNbdParams q{0.5, 7.0, 1.3, 3.0};
    ClvScoringMemo memo;
    for (const Customer& c : customers(5000, 1)) {
        for (const BgNbdParams& m : {p, q, p}) {  // a changed model forgets and starts again
            EXPECT_EQ(crm::clv::bgnbd_conditional_expected_purchases(m, 52, c.x, c.t_x, c.T, memo),
                      crm::clv::bgnbd_conditional_expected_purchases(m, 52, c.x, c.t_x, c.T));
            EXPECT_EQ(crm::clv::bgnbd_conditional_expected_purchases(m, 13.5, c.x, c.t_x, c.T, memo),
                      crm::clv::bgnbd_conditional_expected_purchases(m, 13.5, c.x, c.t_x, c.T));
        }
        crm::clv::ClvOptions o;
        EXPECT_EQ(crm::clv::customer_lifetime_value(p, 42.0, c.x, c.t_x, c.T, o, memo),
                  crm::clv::customer_lifetime_value(p, 42.0, c.x, c.t_x, c.T, o));
        o.months = 0;
        EXPECT_EQ(crm::clv::customer_lifetime_value(p, 42.0, c.x, c.t_x, c.T, o, memo), 0.0);
    }
}

// Past kMaxValues remembered values further keys are computed, not kept: still the same values.
TEST(ClvScoringMemo, BoundedAndStillRight) {
    const BgNbdParams p{0.25, 4.0, 0.8, 2.5};
    ClvScoringMemo memo;
    crm::clv::ClvOptions o;
    o.months = 1200;
    o.month_length = 0.01;  // short horizons: short series
    for (int k = 0; k < 900; ++k) {  // 900 keys x 1,200 months: past the limit
        const double T = k / 7.0;
        const double with_memo = crm::clv::customer_lifetime_value(p, 10.0, 1.0, T / 2, T, o, memo);
        if (k % 100 == 0 || k >= 870)
            EXPECT_EQ(with_memo, crm::clv::customer_lifetime_value(p, 10.0, 1.0, T / 2, T, o)) << k;
    }
}

// Past kMaxKeys keys (each seen twice, so the memo keeps looking) further keys are computed, not kept.
TEST(ClvScoringMemo, KeyLimitStillRight) {
    const BgNbdParams p{0.25, 4.0, 0.8, 2.5};
    ClvScoringMemo memo;
    const int keys = static_cast<int>(ClvScoringMemo::kMaxKeys) + 20000;
    for (int k = 0; k < keys; ++k) {
        const double T = k / 7.0;
        const double first = crm::clv::bgnbd_conditional_expected_purchases(p, 1.0, 1.0, T / 2, T, memo);
        const double again = crm::clv::bgnbd_conditional_expected_purchases(p, 1.0, 1.0, T / 2, T, memo);
        EXPECT_EQ(first, again);
        if (k % 10007 == 0 || k > keys - 3)
            EXPECT_EQ(first, crm::clv::bgnbd_conditional_expected_purchases(p, 1.0, 1.0, T / 2, T)) << k;
    }
}

// Customers that share nothing (ages not in whole days): the memo stops looking, and stays right.
TEST(ClvScoringMemo, GivesUpWhenNothingRepeats) {
    const BgNbdParams p{0.25, 4.0, 0.8, 2.5};
    ClvScoringMemo memo;
    std::mt19937_64 rng(9);
    for (int i = 0; i < 40000; ++i) {
        const double T = static_cast<double>(rng() % 1000000) / 997.0;
        const double value = crm::clv::bgnbd_conditional_expected_purchases(p, 52, 2.0, T / 3, T, memo);
        if (i % 1000 == 0 || i > 39990)
            EXPECT_EQ(value, crm::clv::bgnbd_conditional_expected_purchases(p, 52, 2.0, T / 3, T)) << i;
    }
}

TEST(ClvScoringMemo, ErrorsAsWithoutIt) {
    const BgNbdParams p{0.25, 4.0, 0.8, 2.5};
    ClvScoringMemo memo;
    crm_test::expect_error_kind([&] { (void)crm::clv::bgnbd_conditional_expected_purchases(p, -1, 1, 1, 2, memo); },
                                crm::ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { (void)crm::clv::bgnbd_conditional_expected_purchases(p, 5, 1, 3, 2, memo); },
                                crm::ErrorKind::InvalidParameter);
}

}  // namespace
