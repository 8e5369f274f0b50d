#include "clv_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "clv_memo.hpp"
#include "clv_purchases.hpp"
#include "errors.hpp"
#include "interrupts.hpp"
#include "parallel_jobs.hpp"

namespace crm::clv {

void PurchaseLedger::reserve(std::size_t purchases) {
    customer_of_.reserve(purchases);
    purchases_.reserve(purchases);
}

void PurchaseLedger::add_batch(const std::int64_t* keys, const std::int64_t* days, const double* amounts,
                               std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (i + 8 < n) index_.prefetch(keys[i + 8]);
        bool added = false;
        customer_of_.push_back(index_.find_or_add(keys[i], &added));
        purchases_.push_back(Purchase{days[i], amounts[i]});
    }
}

std::size_t PurchaseLedger::memory_bytes() const {
    return index_.memory_bytes() + customer_of_.capacity() * sizeof(std::uint32_t) +
           purchases_.capacity() * sizeof(Purchase);
}

std::size_t PurchaseLedger::summaries_extra_bytes() const {
    // The purchases grouped by customer, the group starts, the summaries.
    return purchases_.size() * sizeof(Purchase) + (customers() + 1) * sizeof(std::size_t) +
           customers() * sizeof(std::optional<CustomerSummary>);
}

std::vector<std::optional<CustomerSummary>> PurchaseLedger::summaries(std::int64_t as_of, TimeUnit unit) const {
    const std::size_t n = customers();
    check_interrupts();
    // A counting sort by customer: each customer's purchases side by side, in arrival order.
    std::vector<std::size_t, HugePageAllocator<std::size_t>> start(n + 1, 0);
    for (const std::uint32_t c : customer_of_) ++start[c + 1];
    for (std::size_t c = 0; c < n; ++c) start[c + 1] += start[c];
    std::vector<Purchase, HugePageAllocator<Purchase>> grouped(purchases_.size());
    {
        std::vector<std::size_t, HugePageAllocator<std::size_t>> next(start.begin(), start.end() - 1);
        for (std::size_t i = 0; i < purchases_.size(); ++i) grouped[next[customer_of_[i]]++] = purchases_[i];
    }
    std::vector<std::optional<CustomerSummary>> out(n);
    // Customers are independent: blocks of them on two threads.
    constexpr std::size_t kBlock = 16384;
    const int blocks = static_cast<int>((n + kBlock - 1) / kBlock);
    std::vector<std::vector<Purchase>> scratch(2);
    run_jobs(blocks, 2, [&](int w, int block, Progress& progress) {
        const std::size_t begin = static_cast<std::size_t>(block) * kBlock, end = std::min(n, begin + kBlock);
        for (std::size_t c = begin; c < end; ++c) {
            out[c] = summarize_customer(grouped.data() + start[c], start[c + 1] - start[c], as_of, unit,
                                        scratch[static_cast<std::size_t>(w)]);
            progress.add(start[c + 1] - start[c]);
        }
    });
    return out;
}

namespace {
// Sorts rows by key and merges equal keys into one row with their counts
// added: what a fit state's sorted map holds after the same rows.
template <class Row, class Key>
std::vector<Row> distinct_sorted(std::vector<Row> rows, const Key& key) {
    std::sort(rows.begin(), rows.end(), [&key](const Row& a, const Row& b) { return key(a) < key(b); });
    std::vector<Row> distinct;
    for (const Row& r : rows) {
        if (!distinct.empty() && key(distinct.back()) == key(r))
            distinct.back().count += r.count;
        else
            distinct.push_back(r);
    }
    return distinct;
}
}  // namespace

std::vector<RepeatRow> repeat_rows(const std::vector<std::optional<CustomerSummary>>& summaries) {
    std::vector<RepeatRow> rows;
    for (const auto& s : summaries)
        if (s && s->T > 0) rows.push_back(RepeatRow{s->x, s->t_x, s->T, 1});
    return distinct_sorted(std::move(rows), [](const RepeatRow& r) { return std::make_tuple(r.x, r.t_x, r.T); });
}

std::vector<SpendRow> spend_rows(const std::vector<std::optional<CustomerSummary>>& summaries) {
    std::vector<SpendRow> rows;
    for (const auto& s : summaries) {
        if (!s || !(s->T > 0) || s->x == 0) continue;
        // As the state's add(): m finite and > 0 (a day's total can overflow to infinity).
        if (!std::isfinite(s->mean_spend)) throw_invalid("mean spend must be finite");
        validate_spend(static_cast<double>(s->x), s->mean_spend);
        rows.push_back(SpendRow{s->x, s->mean_spend, 1});
    }
    return distinct_sorted(std::move(rows), [](const SpendRow& r) { return std::make_pair(r.x, r.m); });
}

std::vector<CustomerClv> score_customers(const std::vector<std::optional<CustomerSummary>>& summaries,
                                         const BgNbdParams& purchases, const GammaGammaParams& spend,
                                         const ClvAnalysisOptions& options, int threads) {
    std::vector<CustomerClv> out(summaries.size());
    // Fixed blocks, one memo per worker: a memo changes how often a series is
    // computed, never its value, so the scores do not depend on the threads.
    constexpr std::size_t kBlock = 16384;
    const int blocks = static_cast<int>((summaries.size() + kBlock - 1) / kBlock);
    const int workers = std::max(1, threads);
    std::vector<ClvScoringMemo> horizon_memos(static_cast<std::size_t>(workers)),
        clv_memos(static_cast<std::size_t>(workers));
    run_jobs(blocks, workers, [&](int w, int block, Progress& progress) {
        ClvScoringMemo& horizon_memo = horizon_memos[static_cast<std::size_t>(w)];
        ClvScoringMemo& clv_memo = clv_memos[static_cast<std::size_t>(w)];
        const std::size_t begin = static_cast<std::size_t>(block) * kBlock;
        const std::size_t end = std::min(summaries.size(), begin + kBlock);
        for (std::size_t i = begin; i < end; ++i) {
            const auto& s = summaries[i];
            if (!s) continue;
            const double x = static_cast<double>(s->x);
            // As the SQL scorers: finite arguments, validate, then p_alive, E[Y(horizon)], expected spend,
            // CLV, tier.
            if (!std::isfinite(s->t_x) || !std::isfinite(s->T) || !std::isfinite(s->mean_spend))
                throw_invalid("frequency, recency, age and monetary must be finite numbers");
            validate_summary(x, s->t_x, s->T);
            validate_spend(x, s->mean_spend);
            CustomerClv& c = out[i];
            c.p_alive = bgnbd_probability_alive(purchases, x, s->t_x, s->T);
            c.expected_purchases =
                bgnbd_conditional_expected_purchases(purchases, options.horizon, x, s->t_x, s->T, horizon_memo);
            c.expected_spend = gammagamma_expected_spend(spend, x, s->mean_spend);
            c.clv = customer_lifetime_value(purchases, c.expected_spend, x, s->t_x, s->T, options.clv, clv_memo);
            c.churn_risk = churn_risk(c.p_alive, c.expected_purchases, options.churn);
            progress.add(16);
        }
    });
    return out;
}

}  // namespace crm::clv
