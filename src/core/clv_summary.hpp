// One customer's buy-till-you-die summary (x, t_x, T, mean repeat spend) from
// their purchases: the input of the BG/NBD, Pareto/NBD and Gamma-Gamma fits.
//
// The rule is the one behind the published CDNOW summary (see
// data/cdnow/README.md in the shared folder):
//   - purchases on the same day are one purchase (their amounts summed), so a
//     basket split over several rows is not counted as repeat buying;
//   - purchases after as_of are ignored (they belong to a holdout period);
//   - x   = number of distinct purchase days after the first;
//   - t_x = last purchase day - first purchase day (0 when x = 0);
//   - T   = as_of - first purchase day;
//   - mean_spend = mean of the x repeat days' summed amounts, the first day
//     left out (the Gamma-Gamma m_x; 0 when x = 0): the first purchase is
//     often atypical (a welcome offer), and the models describe repeat buying.
// Times are returned in the chosen unit: days, or weeks = days / 7 (exact, not
// rounded: the CDNOW file rounds t_x and T to 2 decimals for printing only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace crm::clv {

enum class TimeUnit { Day, Week };

// Length of the unit in days (1 or 7).
double days_per_unit(TimeUnit unit);

// A month in the unit, as lifetimes' customer_lifetime_value counts it:
// 30 days, or 4.345 weeks.
double month_length(TimeUnit unit);

struct Purchase {
    std::int64_t day = 0;  // a day number (e.g. days since 2000-01-01); any origin
    double amount = 0.0;   // finite and >= 0
};

struct CustomerSummary {
    std::int64_t x = 0;        // repeat purchase days
    double t_x = 0.0;          // recency, in the unit
    double T = 0.0;            // age at as_of, in the unit
    double mean_spend = 0.0;   // mean amount of the repeat days; 0 when x = 0
    std::int64_t first_day = 0;
    std::int64_t last_day = 0;
};

// The summary of one customer's purchases (in any order). Returns nothing when
// the customer has no purchase on or before as_of (not yet a customer then).
// Throws crm::Error 22023 for a non-finite or negative amount (net refunds out
// first: a negative day total has no meaning in the spend model) and 22003 when
// a day difference does not fit (|day| beyond 2^52). Allocates one sorted copy.
std::optional<CustomerSummary> summarize_customer(const Purchase* purchases, std::size_t n,
                                                  std::int64_t as_of, TimeUnit unit);
// The same with the sorted copy kept in `scratch` (one allocation for many customers).
std::optional<CustomerSummary> summarize_customer(const Purchase* purchases, std::size_t n, std::int64_t as_of,
                                                  TimeUnit unit, std::vector<Purchase>& scratch);

}  // namespace crm::clv
