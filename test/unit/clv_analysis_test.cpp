// crm.clv_analyze's direct path in the core: the ledger's summaries, the fit
// rows and the scores are the same doubles as the SQL path's building blocks
// (summarize_customer per customer, the fit states' rows, each scorer on its
// own), whatever the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "clv_analysis.hpp"
#include "clv_bgnbd.hpp"
#include "clv_fit_state.hpp"
#include "clv_gammagamma.hpp"
#include "clv_purchases.hpp"
#include "clv_value.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "huge_page_allocator.hpp"

namespace {

using crm::clv::CustomerSummary;
using crm::clv::Purchase;
using crm::clv::TimeUnit;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Orders {
    std::vector<std::int64_t> keys, days;
    std::vector<double> amounts;
};

// Customers who buy as BG/NBD assumes (a Poisson pace of their own, a dropout
// coin after each purchase) from their own first day, some after as_of (day
// 700), with same-day baskets and orders after as_of; keys scattered, rows shuffled.
Orders make_orders(int customers, std::uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::gamma_distribution<double> pace(0.6, 1.0 / 15.0);  // purchases per day
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    Orders o;
    for (int c = 0; c < customers; ++c) {
        const std::int64_t key = static_cast<std::int64_t>(c) * 7919 - 50000;
        std::exponential_distribution<double> gap(pace(rng) + 1e-3);
        const double dropout = 0.05 + 0.4 * unit(rng);
        double day = static_cast<double>(rng() % 750);
        while (day <= 800) {
            const int basket = unit(rng) < 0.2 ? 2 : 1;  // two orders on one day now and then
            for (int k = 0; k < basket; ++k) {
                o.keys.push_back(key);
                o.days.push_back(static_cast<std::int64_t>(day));
                o.amounts.push_back(static_cast<double>(rng() % 20000) / 100.0 + 1.0);
            }
            if (unit(rng) < dropout) break;
            day += std::ceil(gap(rng));
        }
    }
    std::vector<std::size_t> order(o.keys.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    Orders shuffled;
    for (const std::size_t i : order) {
        shuffled.keys.push_back(o.keys[i]);
        shuffled.days.push_back(o.days[i]);
        shuffled.amounts.push_back(o.amounts[i]);
    }
    return shuffled;
}

crm::clv::PurchaseLedger ledger_of(const Orders& o, std::size_t batch) {
    crm::clv::PurchaseLedger ledger;
    for (std::size_t i = 0; i < o.keys.size(); i += batch) {
        const std::size_t n = std::min(batch, o.keys.size() - i);
        ledger.add_batch(o.keys.data() + i, o.days.data() + i, o.amounts.data() + i, n);
    }
    return ledger;
}

void expect_same_summary(const std::optional<CustomerSummary>& a, const std::optional<CustomerSummary>& b) {
    ASSERT_EQ(a.has_value(), b.has_value());
    if (!a) return;
    EXPECT_EQ(a->x, b->x);
    EXPECT_TRUE(same_bits(a->t_x, b->t_x));
    EXPECT_TRUE(same_bits(a->T, b->T));
    EXPECT_TRUE(same_bits(a->mean_spend, b->mean_spend));
    EXPECT_EQ(a->first_day, b->first_day);
}

TEST(PurchaseLedger, SummariesAsEachCustomerAlone) {
    const Orders o = make_orders(3000, 7);
    const crm::clv::PurchaseLedger ledger = ledger_of(o, 1000);
    std::map<std::int64_t, std::vector<Purchase>> by_customer;
    for (std::size_t i = 0; i < o.keys.size(); ++i) by_customer[o.keys[i]].push_back(Purchase{o.days[i], o.amounts[i]});
    ASSERT_EQ(ledger.customers(), by_customer.size());
    EXPECT_EQ(ledger.purchases(), o.keys.size());
    EXPECT_EQ(ledger.keys().front(), o.keys.front());  // numbered in order of first appearance
    for (const TimeUnit unit : {TimeUnit::Week, TimeUnit::Day}) {
        const auto summaries = ledger.summaries(700, unit);
        int without = 0;
        for (std::size_t c = 0; c < ledger.customers(); ++c) {
            const auto& mine = by_customer.at(ledger.keys()[c]);
            expect_same_summary(summaries[c], crm::clv::summarize_customer(mine.data(), mine.size(), 700, unit));
            without += summaries[c] ? 0 : 1;
        }
        EXPECT_GT(without, 0);  // some customers start after as_of
    }
}

TEST(PurchaseLedger, RefusesWhatTheSummaryRefuses) {
    Orders o = make_orders(50, 3);
    o.amounts[10] = -1.0;
    const crm::clv::PurchaseLedger ledger = ledger_of(o, 16);
    EXPECT_ERROR_KIND(ledger.summaries(700, TimeUnit::Week), crm::ErrorKind::InvalidParameter);
}

TEST(ClvAnalysis, FitRowsAsTheAggregateStates) {
    const Orders o = make_orders(5000, 11);
    const auto summaries = ledger_of(o, 4096).summaries(700, TimeUnit::Week);
    crm::clv::PurchaseFitState purchases;
    crm::clv::SpendFitState spend;
    for (const auto& s : summaries) {
        if (!s || !(s->T > 0)) continue;  // the SQL path's WHERE age > 0
        purchases.add(static_cast<double>(s->x), s->t_x, s->T);
        spend.add(static_cast<double>(s->x), s->mean_spend);
    }
    const auto rows = crm::clv::repeat_rows(summaries);
    const auto state_rows = purchases.rows();
    ASSERT_EQ(rows.size(), state_rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].x, state_rows[i].x);
        EXPECT_TRUE(same_bits(rows[i].t_x, state_rows[i].t_x));
        EXPECT_TRUE(same_bits(rows[i].T, state_rows[i].T));
        EXPECT_EQ(rows[i].count, state_rows[i].count);
    }
    const auto srows = crm::clv::spend_rows(summaries);
    const auto state_srows = spend.rows();
    ASSERT_EQ(srows.size(), state_srows.size());
    for (std::size_t i = 0; i < srows.size(); ++i) {
        EXPECT_EQ(srows[i].x, state_srows[i].x);
        EXPECT_TRUE(same_bits(srows[i].m, state_srows[i].m));
        EXPECT_EQ(srows[i].count, state_srows[i].count);
    }
    // The fits from the rows are the fits from the states.
    const auto bg_rows = crm::clv::fit_bgnbd(rows), bg_state = crm::clv::fit_bgnbd(purchases);
    EXPECT_TRUE(same_bits(bg_rows.params.r, bg_state.params.r));
    EXPECT_TRUE(same_bits(bg_rows.params.b, bg_state.params.b));
    EXPECT_TRUE(same_bits(bg_rows.info.log_likelihood, bg_state.info.log_likelihood));
    EXPECT_EQ(bg_rows.info.customers, purchases.customers());
    const auto gg_rows = crm::clv::fit_gammagamma(srows), gg_state = crm::clv::fit_gammagamma(spend);
    EXPECT_TRUE(same_bits(gg_rows.params.p, gg_state.params.p));
    EXPECT_TRUE(same_bits(gg_rows.params.gamma, gg_state.params.gamma));
}

TEST(ClvAnalysis, LikelihoodBlocksGiveOneAnswer) {
    // Past one block of rows (32,768), the likelihood is summed block by block on two threads: the fit must
    // not depend on timing (run twice) and must still be the maximum (the gradient vanishes there).
    const auto rows = crm::clv::repeat_rows(ledger_of(make_orders(100000, 5), 4096).summaries(700, TimeUnit::Day));
    ASSERT_GT(rows.size(), 32768u);  // at least two blocks
    const auto first = crm::clv::fit_bgnbd(rows), second = crm::clv::fit_bgnbd(rows);
    EXPECT_TRUE(same_bits(first.params.r, second.params.r));
    EXPECT_TRUE(same_bits(first.params.alpha, second.params.alpha));
    EXPECT_TRUE(same_bits(first.info.log_likelihood, second.info.log_likelihood));
    ASSERT_TRUE(first.info.converged);
    crm::clv::PurchaseFitState state;
    for (const auto& r : rows) state.add(static_cast<double>(r.x), r.t_x, r.T, r.count);
    const crm::clv::BgNbdParams g = crm::clv::bgnbd_log_likelihood_gradient(first.params, state);
    // Gradient on log-parameters, per customer: near zero at the optimum.
    EXPECT_LT(std::abs(g.r * first.params.r) / static_cast<double>(state.customers()), 1e-6);
    EXPECT_LT(std::abs(g.alpha * first.params.alpha) / static_cast<double>(state.customers()), 1e-6);
    EXPECT_LT(std::abs(g.a * first.params.a) / static_cast<double>(state.customers()), 1e-6);
    EXPECT_LT(std::abs(g.b * first.params.b) / static_cast<double>(state.customers()), 1e-6);
}

TEST(ClvAnalysis, ScoresAsEachScorerAlone) {
    const Orders o = make_orders(40000, 13);  // more than two blocks of 16,384 customers
    const auto summaries = ledger_of(o, 4096).summaries(700, TimeUnit::Week);
    const crm::clv::BgNbdParams bg{0.8, 6.0, 0.5, 3.0};
    const crm::clv::GammaGammaParams gg{3.0, 4.0, 20.0};
    crm::clv::ClvAnalysisOptions options;
    options.horizon = 52.14;
    options.clv.months = 12;
    options.clv.monthly_discount = 0.01;
    options.clv.margin = 0.3;
    options.clv.month_length = crm::clv::month_length(TimeUnit::Week);
    const auto two = crm::clv::score_customers(summaries, bg, gg, options, 2);
    const auto one = crm::clv::score_customers(summaries, bg, gg, options, 1);
    ASSERT_EQ(two.size(), summaries.size());
    int checked = 0;
    for (std::size_t i = 0; i < summaries.size(); ++i) {
        const auto& s = summaries[i];
        if (!s) continue;
        const double x = static_cast<double>(s->x);
        EXPECT_TRUE(same_bits(two[i].clv, one[i].clv));
        EXPECT_TRUE(same_bits(two[i].expected_purchases, one[i].expected_purchases));
        if (i % 97 != 0) continue;  // the scorers without a memo, on a sample
        ++checked;
        EXPECT_TRUE(same_bits(two[i].p_alive, crm::clv::bgnbd_probability_alive(bg, x, s->t_x, s->T)));
        EXPECT_TRUE(same_bits(two[i].expected_purchases,
                              crm::clv::bgnbd_conditional_expected_purchases(bg, options.horizon, x, s->t_x, s->T)));
        const double spend = crm::clv::gammagamma_expected_spend(gg, x, s->mean_spend);
        EXPECT_TRUE(same_bits(two[i].expected_spend, spend));
        EXPECT_TRUE(same_bits(two[i].clv, crm::clv::customer_lifetime_value(bg, spend, x, s->t_x, s->T, options.clv)));
        EXPECT_EQ(two[i].churn_risk, crm::clv::churn_risk(two[i].p_alive, two[i].expected_purchases, options.churn));
    }
    EXPECT_GT(checked, 300);
}

TEST(HugePageAllocator, BigAndSmallVectorsKeepTheirValues) {
    std::vector<std::int64_t, crm::HugePageAllocator<std::int64_t>> big;
    for (std::int64_t i = 0; i < 3000000; ++i) big.push_back(i * 3);  // grows past 4 MB: mapped blocks
    for (std::int64_t i = 0; i < 3000000; i += 999) ASSERT_EQ(big[static_cast<std::size_t>(i)], i * 3);
    std::vector<int, crm::HugePageAllocator<int>> small(100, 7);
    EXPECT_EQ(small[99], 7);
    big.clear();
    big.shrink_to_fit();
    EXPECT_EQ(big.capacity(), 0u);
}

}  // namespace
