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

}  // namespace
