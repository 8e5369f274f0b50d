// The CLV core on CDNOW (Fader, Hardie and Lee 2005) against the published and
// independently reproduced figures of REFERENCES.md. Skipped when the shared
// data folder ($CRM_SHARED_DIR, else ../shared next to the source tree) is
// absent.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "clv_bgnbd.hpp"
#include "clv_fit_state.hpp"
#include "clv_gammagamma.hpp"
#include "clv_paretonbd.hpp"
#include "clv_value.hpp"
#include "clv_summary.hpp"

namespace {

namespace clv = crm::clv;

std::string cdnow_dir() {
    const char* env = std::getenv("CRM_SHARED_DIR");
    const std::string shared = env && *env ? env : std::string(CRM_SOURCE_DIR) + "/../shared";
    return shared + "/data/cdnow";
}

struct SummaryRow {
    int id;
    double x, t_x, T, zbar;
};

// cdnow_customers_summary_with_transactions.csv: ID,x,t_x,T,zbar (CRLF).
std::vector<SummaryRow> read_summary() {
    std::ifstream in(cdnow_dir() + "/cdnow_customers_summary_with_transactions.csv");
    std::vector<SummaryRow> rows;
    if (!in) return rows;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        for (char& c : line)
            if (c == ',') c = ' ';
        std::istringstream fields(line);
        SummaryRow r{};
        fields >> r.id >> r.x >> r.t_x >> r.T >> r.zbar;
        rows.push_back(r);
    }
    return rows;
}

class Cdnow : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        rows_ = new std::vector<SummaryRow>(read_summary());
        state_ = new clv::PurchaseFitState();
        for (const SummaryRow& r : *rows_) state_->add(r.x, r.t_x, r.T);
    }
    static void TearDownTestSuite() {
        delete rows_;
        delete state_;
    }
    void SetUp() override {
        if (rows_->empty()) GTEST_SKIP() << "CDNOW data not found under " << cdnow_dir();
    }
    static const clv::BgNbdFit& bgnbd() {
        static const clv::BgNbdFit fit = clv::fit_bgnbd(*state_);
        return fit;
    }
    static std::vector<SummaryRow>* rows_;
    static clv::PurchaseFitState* state_;
};
std::vector<SummaryRow>* Cdnow::rows_ = nullptr;
clv::PurchaseFitState* Cdnow::state_ = nullptr;

TEST_F(Cdnow, BgNbdFitMatchesThePaper) {
    ASSERT_EQ(rows_->size(), 2357u);
    const auto start = std::chrono::steady_clock::now();
    const clv::BgNbdFit fit = clv::fit_bgnbd(*state_);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(fit.info.converged) << fit.info.note;
    std::printf("BG/NBD: r %.7f alpha %.7f a %.7f b %.7f LL %.4f (%d iterations, %zu distinct rows, %.1f ms)\n",
                fit.params.r, fit.params.alpha, fit.params.a, fit.params.b, fit.info.log_likelihood,
                fit.info.iterations, state_->distinct_rows(), ms);
    std::printf("  se: r %.4f alpha %.4f a %.4f b %.4f\n", fit.se.r, fit.se.alpha, fit.se.a, fit.se.b);
    EXPECT_NEAR(fit.params.r, 0.2425929, 1e-3);
    EXPECT_NEAR(fit.params.alpha, 4.4135316, 1e-3);
    EXPECT_NEAR(fit.params.a, 0.7928862, 1e-3);
    EXPECT_NEAR(fit.params.b, 2.4257537, 1e-3);
    EXPECT_NEAR(fit.params.r, 0.243, 1e-3);
    EXPECT_NEAR(fit.params.alpha, 4.414, 1e-3);
    EXPECT_NEAR(fit.params.a, 0.793, 1e-3);
    EXPECT_NEAR(fit.params.b, 2.426, 1e-3);
    EXPECT_NEAR(fit.info.log_likelihood, -9582.4256, 0.05);
    EXPECT_EQ(fit.info.customers, 2357);
}

TEST_F(Cdnow, BgNbdPredictionsMatchHardiesSpreadsheet) {
    const clv::BgNbdParams& p = bgnbd().params;
    const double t[] = {1, 3, 32, 78};
    const double expected[] = {0.0532, 0.1506, 1.0437, 1.8576};
    for (int i = 0; i < 4; ++i) {
        const double got = clv::bgnbd_expected_purchases(p, t[i]);
        std::printf("E[X(%g)] = %.5f (target %.4f)\n", t[i], got, expected[i]);
        EXPECT_NEAR(got, expected[i], 5e-4);
    }
    const double y = clv::bgnbd_conditional_expected_purchases(p, 39, 2, 30.43, 38.86);
    std::printf("E[Y(39) | 2, 30.43, 38.86] = %.5f (target 1.226)\n", y);
    EXPECT_NEAR(y, 1.226, 1e-3);
}

TEST_F(Cdnow, ParetoNbdFitMatchesLifetimes) {
    const auto start = std::chrono::steady_clock::now();
    const clv::ParetoNbdFit fit = clv::fit_paretonbd(*state_);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(fit.info.converged) << fit.info.note;
    std::printf("Pareto/NBD: r %.5f alpha %.5f s %.5f beta %.5f LL %.4f (%d iterations, %.1f ms)\n", fit.params.r,
                fit.params.alpha, fit.params.s, fit.params.beta, fit.info.log_likelihood, fit.info.iterations, ms);
    EXPECT_NEAR(fit.params.r, 0.553, 0.015);
    EXPECT_NEAR(fit.params.alpha, 10.578, 0.015);
    EXPECT_NEAR(fit.params.s, 0.606, 0.015);
    EXPECT_NEAR(fit.params.beta, 11.669, 0.015);
}

clv::GammaGammaFit fit_spend(const std::vector<SummaryRow>& rows) {
    clv::SpendFitState spend;
    for (const SummaryRow& r : rows) spend.add(r.x, r.zbar);
    return clv::fit_gammagamma(spend);
}

TEST_F(Cdnow, GammaGammaFitMatchesThePaper) {
    const clv::GammaGammaFit fit = fit_spend(*rows_);
    ASSERT_TRUE(fit.info.converged) << fit.info.note;
    std::printf("Gamma-Gamma: p %.5f q %.5f gamma %.5f LL %.4f (%lld customers, %d iterations)\n", fit.params.p,
                fit.params.q, fit.params.gamma, fit.info.log_likelihood, static_cast<long long>(fit.info.customers),
                fit.info.iterations);
    EXPECT_EQ(fit.info.customers, 946);
    EXPECT_NEAR(fit.params.p, 6.25, 0.015);
    EXPECT_NEAR(fit.params.q, 3.74, 0.015);
    EXPECT_NEAR(fit.params.gamma, 15.44, 0.015);
}

// lifetimes' documented figures come from customer_lifetime_value(...,
// time=12, discount_rate=0.01) with its default freq="D": a "month" of 30
// units, on a model fitted in WEEKS, so each step is 30 weeks, not 4.345 (the
// docs' example does not pass freq="W"). With that step length the core
// reproduces them to the printed digit; with a true month (4.345 weeks) the
// values are about a quarter (pinned below against our own computation).
TEST_F(Cdnow, LifetimeValueMatchesLifetimesDocs) {
    const clv::BgNbdParams& bg = bgnbd().params;
    const clv::GammaGammaParams gg = fit_spend(*rows_).params;
    const double lifetimes_docs[] = {140.096, 18.943, 38.181, 38.181, 38.181, 1003.868, 28.110, 38.181, 167.418, 38.181};
    const double true_months[] = {36.278, 4.637, 8.344, 8.344, 8.344, 283.524, 6.881, 8.344, 43.354, 8.344};
    clv::ClvOptions options;
    options.months = 12;
    options.monthly_discount = 0.01;
    for (int i = 0; i < 10; ++i) {
        const SummaryRow& r = (*rows_)[i];
        const double spend = clv::gammagamma_expected_spend(gg, r.x, r.zbar);
        options.month_length = 30.0;
        const double docs = clv::customer_lifetime_value(bg, spend, r.x, r.t_x, r.T, options);
        options.month_length = clv::month_length(clv::TimeUnit::Week);
        const double weekly = clv::customer_lifetime_value(bg, spend, r.x, r.t_x, r.T, options);
        std::printf("CLV customer %d: %.3f with 30-week steps (lifetimes docs %.3f), %.3f with 4.345-week months\n",
                    r.id, docs, lifetimes_docs[i], weekly);
        EXPECT_NEAR(docs, lifetimes_docs[i], 0.05) << "customer " << r.id;
        EXPECT_NEAR(weekly, true_months[i], 0.005) << "customer " << r.id;
    }
}

// CDNOW_sample.txt: master_id sample_id date(YYYYMMDD) number_of_cds dollar_value.
std::int64_t day_number(int yyyymmdd) {
    // Days from civil (Howard Hinnant's algorithm).
    int y = yyyymmdd / 10000;
    const unsigned m = static_cast<unsigned>(yyyymmdd / 100 % 100), d = static_cast<unsigned>(yyyymmdd % 100);
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

TEST_F(Cdnow, SummaryDerivedFromTransactions) {
    std::ifstream in(cdnow_dir() + "/CDNOW_sample.txt");
    ASSERT_TRUE(in) << "CDNOW_sample.txt missing";
    std::map<int, std::vector<clv::Purchase>> purchases;
    long master = 0, cds = 0;
    int id = 0, date = 0;
    double dollars = 0;
    while (in >> master >> id >> date >> cds >> dollars) purchases[id].push_back({day_number(date), dollars});
    ASSERT_EQ(purchases.size(), 2357u);
    const std::int64_t as_of = day_number(19970930);
    int checked = 0;
    for (const SummaryRow& r : *rows_) {
        const auto& list = purchases.at(r.id);
        const auto s = clv::summarize_customer(list.data(), list.size(), as_of, clv::TimeUnit::Week);
        ASSERT_TRUE(s.has_value()) << r.id;
        EXPECT_EQ(static_cast<double>(s->x), r.x) << r.id;
        EXPECT_NEAR(s->t_x, r.t_x, 0.005 + 1e-9) << r.id;
        EXPECT_NEAR(s->T, r.T, 0.005 + 1e-9) << r.id;
        EXPECT_EQ(std::round(s->t_x * 100) / 100, r.t_x) << r.id;  // the file's 2-decimal rounding
        EXPECT_EQ(std::round(s->T * 100) / 100, r.T) << r.id;
        // zbar: the file rounds the exact decimal mean half-up; a double mean
        // is within half a cent (plus rounding noise) of it.
        EXPECT_NEAR(s->mean_spend, r.zbar, 0.005 + 1e-9) << r.id;
        ++checked;
    }
    EXPECT_EQ(checked, 2357);
}

}  // namespace
