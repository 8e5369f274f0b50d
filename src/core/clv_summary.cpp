#include "clv_summary.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "errors.hpp"

namespace crm::clv {

double days_per_unit(TimeUnit unit) { return unit == TimeUnit::Week ? 7.0 : 1.0; }

double month_length(TimeUnit unit) { return unit == TimeUnit::Week ? 4.345 : 30.0; }

namespace {
// Day numbers beyond 2^52 would lose their difference once turned into doubles.
constexpr std::int64_t kMaxDay = std::int64_t{1} << 52;

void check_day(std::int64_t day, const char* what) {
    if (day > kMaxDay || day < -kMaxDay)
        throw_error(ErrorKind::OutOfRange, std::string(what) + " " + std::to_string(day) + " is out of range",
                    "Use day numbers such as days since 2000-01-01.");
}
}  // namespace

std::optional<CustomerSummary> summarize_customer(const Purchase* purchases, std::size_t n, std::int64_t as_of,
                                                  TimeUnit unit) {
    std::vector<Purchase> kept;
    return summarize_customer(purchases, n, as_of, unit, kept);
}

std::optional<CustomerSummary> summarize_customer(const Purchase* purchases, std::size_t n, std::int64_t as_of,
                                                  TimeUnit unit, std::vector<Purchase>& kept) {
    check_day(as_of, "as_of day");
    kept.clear();
    kept.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const Purchase& p = purchases[i];
        if (!std::isfinite(p.amount) || p.amount < 0.0)
            throw_invalid("purchase amount must be a finite number >= 0, got " + std::to_string(p.amount),
                          "Net refunds against their purchases before summarising.");
        check_day(p.day, "purchase day");
        if (p.day <= as_of) kept.push_back(p);
    }
    if (kept.empty()) return std::nullopt;
    // Sorting by (day, amount) makes the per-day sums independent of the input
    // order, to the last bit.
    std::sort(kept.begin(), kept.end(), [](const Purchase& a, const Purchase& b) {
        return a.day != b.day ? a.day < b.day : a.amount < b.amount;
    });

    CustomerSummary s;
    s.first_day = kept.front().day;
    s.last_day = kept.back().day;
    double repeat_total = 0.0;
    std::size_t i = 0;
    // Skip the first day: its amount is not part of the repeat spend.
    while (i < kept.size() && kept[i].day == s.first_day) ++i;
    while (i < kept.size()) {
        const std::int64_t day = kept[i].day;
        double day_total = 0.0;
        for (; i < kept.size() && kept[i].day == day; ++i) day_total += kept[i].amount;
        repeat_total += day_total;
        ++s.x;
    }
    const double unit_days = days_per_unit(unit);
    s.t_x = static_cast<double>(s.last_day - s.first_day) / unit_days;
    s.T = static_cast<double>(as_of - s.first_day) / unit_days;
    s.mean_spend = s.x > 0 ? repeat_total / static_cast<double>(s.x) : 0.0;
    return s;
}

}  // namespace crm::clv
