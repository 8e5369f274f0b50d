// crm.clv_analyze in one pass of C++: the purchases of every customer of an
// orders table, their summaries, both fits and every customer's scores, for
// the adapter's direct read of a plain table (src/pg/clv_scan.cpp).
//
// Each step calls the functions the SQL formulation's aggregates and scorers
// call, on the same values in the same order (summarize_customer on each
// customer's purchases; the fits on the rows their aggregate states would
// hold, sorted the same way; the scorers with the same memo), so the direct
// path returns the SQL path's doubles, not approximations of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "clv_bgnbd.hpp"
#include "clv_fit_state.hpp"
#include "clv_gammagamma.hpp"
#include "clv_summary.hpp"
#include "clv_value.hpp"
#include "flat_index.hpp"
#include "huge_page_allocator.hpp"

namespace crm::clv {

// Every customer's purchases (day, amount), gathered batch by batch from a
// scan in any order. Customers are numbered in the order they first appear.
class PurchaseLedger {
public:
    // Room for about this many purchases (a table's estimated rows), so the
    // arrays do not grow by copying.
    void reserve(std::size_t purchases);
    void add_batch(const std::int64_t* keys, const std::int64_t* days, const double* amounts, std::size_t n);

    std::size_t customers() const { return index_.size(); }
    std::size_t purchases() const { return customer_of_.size(); }
    const std::vector<std::int64_t>& keys() const { return index_.keys(); }
    // Heap bytes held, and what summaries() adds while it runs.
    std::size_t memory_bytes() const;
    std::size_t summaries_extra_bytes() const;

    // Each customer's summary at as_of (summarize_customer of their purchases;
    // nothing for a customer without a purchase on or before as_of), by
    // customer number. Throws as summarize_customer does.
    std::vector<std::optional<CustomerSummary>> summaries(std::int64_t as_of, TimeUnit unit) const;

private:
    FlatIndex<std::int64_t, Int64KeyHash> index_;
    std::vector<std::uint32_t, HugePageAllocator<std::uint32_t>> customer_of_;  // per purchase, in arrival order
    std::vector<Purchase, HugePageAllocator<Purchase>> purchases_;
};

// The rows crm.bgnbd_fit's state holds after adding (x, t_x, T) of every
// summary with T > 0: distinct rows with their counts, ascending.
std::vector<RepeatRow> repeat_rows(const std::vector<std::optional<CustomerSummary>>& summaries);
// The rows crm.gammagamma_fit's state holds after adding (x, m) of every
// summary with T > 0: customers with x > 0, distinct (x, m) with counts, ascending.
// Throws 22023, as the state does, for a repeat buyer whose mean spend is not > 0.
std::vector<SpendRow> spend_rows(const std::vector<std::optional<CustomerSummary>>& summaries);

struct ClvAnalysisOptions {
    double horizon = 0.0;   // expected purchases and the churn tier over this many time units
    ClvOptions clv;         // CLV months, discount, margin, month length
    ChurnThresholds churn;  // the defaults of crm.churn_risk
};

struct CustomerClv {
    double p_alive = 0.0;
    double expected_purchases = 0.0;
    double expected_spend = 0.0;
    double clv = 0.0;
    ChurnRisk churn_risk = ChurnRisk::Low;
};

// Scores of every customer with a summary (entries without one stay zero)
// under fitted models, on `threads` threads (the same values whatever their
// number). Throws as the scorers do.
std::vector<CustomerClv> score_customers(const std::vector<std::optional<CustomerSummary>>& summaries,
                                         const BgNbdParams& purchases, const GammaGammaParams& spend,
                                         const ClvAnalysisOptions& options, int threads);

}  // namespace crm::clv
