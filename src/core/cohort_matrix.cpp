#include "cohort_matrix.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_map>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

constexpr std::size_t kPrefetchDistance = 16;

constexpr int kPowersOfTen = 39;  // 10^0 .. 10^38 fit in a signed 128-bit integer
constexpr std::array<__int128, kPowersOfTen> powers_of_ten() {
    std::array<__int128, kPowersOfTen> p{};
    p[0] = 1;
    for (int i = 1; i < kPowersOfTen; ++i) p[i] = p[i - 1] * 10;
    return p;
}
constexpr std::array<__int128, kPowersOfTen> kTen = powers_of_ten();

bool times_ten_to(__int128& x, int digits) {
    if (digits == 0 || x == 0) return true;
    if (digits >= kPowersOfTen) return false;
    return !__builtin_mul_overflow(x, kTen[static_cast<std::size_t>(digits)], &x);
}

}  // namespace

bool Decimal::add(const Decimal& other) {
    const int s = std::max(scale, other.scale);
    __int128 a = units, b = other.units, sum;
    if (!times_ten_to(a, s - scale) || !times_ten_to(b, s - other.scale)) return false;
    if (__builtin_add_overflow(a, b, &sum)) return false;
    units = sum;
    scale = s;
    return true;
}

std::string decimal_text(const Decimal& d) {
    const bool negative = d.units < 0;
    // Digits of |units|, least significant first (the magnitude of INT128_MIN is taken digit by digit).
    std::string digits;
    __int128 u = d.units;
    do {
        const int digit = static_cast<int>(u % 10);
        digits.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
        u /= 10;
    } while (u != 0);
    while (static_cast<int>(digits.size()) <= d.scale) digits.push_back('0');  // at least one digit before the point
    std::reverse(digits.begin(), digits.end());
    if (d.scale > 0) digits.insert(digits.end() - d.scale, '.');
    return negative ? "-" + digits : digits;
}

CohortBuilder::CohortBuilder(RevenueKind kind) : kind_(kind) {}

bool CohortBuilder::add_batch(const std::int64_t* keys, const std::int32_t* periods, const Decimal* exact,
                              const double* floats, std::size_t n) {
    for (std::size_t r = 0; r < n; ++r) {
        if (r + kPrefetchDistance < n) pairs_.prefetch(PairKey{keys[r + kPrefetchDistance], periods[r + kPrefetchDistance]});
        bool added;
        const std::uint32_t i = pairs_.find_or_add(PairKey{keys[r], periods[r]}, &added);
        if (added && kind_ == RevenueKind::Exact) pair_exact_.emplace_back();
        if (added && kind_ == RevenueKind::Float) pair_float_.push_back(0.0);
        if (kind_ == RevenueKind::Exact && !pair_exact_[i].add(exact[r])) return false;
        if (kind_ == RevenueKind::Float) pair_float_[i] += floats[r];
    }
    return true;
}

bool CohortBuilder::build(std::vector<CohortCell>& cells, std::size_t max_cells) const {
    cells.clear();
    const std::vector<PairKey>& pair = pairs_.keys();
    const std::size_t n = pair.size();
    if (n == 0) return true;
    InterruptTicker ticker(1 << 16);
    // Each customer's cohort: the first period they ordered in.
    FlatIndex<std::int64_t, Int64KeyHash> customers;
    std::vector<std::uint32_t> customer_of(n);
    std::vector<std::int32_t> cohort_of;
    std::int32_t last = std::numeric_limits<std::int32_t>::min();
    for (std::size_t i = 0; i < n; ++i) {
        if (i + kPrefetchDistance < n) customers.prefetch(pair[i + kPrefetchDistance].customer);
        bool added;
        const std::uint32_t c = customers.find_or_add(pair[i].customer, &added);
        if (added) cohort_of.push_back(pair[i].period);
        cohort_of[c] = std::min(cohort_of[c], pair[i].period);
        customer_of[i] = c;
        last = std::max(last, pair[i].period);
        ticker.tick();
    }
    customers.release_slots();
    // Cohort sizes, then one run of cells per cohort: cohort .. last.
    std::unordered_map<std::int32_t, std::int64_t> sizes;
    for (const std::int32_t cohort : cohort_of) ++sizes[cohort];
    std::vector<std::int32_t> cohorts;
    cohorts.reserve(sizes.size());
    for (const auto& [cohort, size] : sizes) cohorts.push_back(cohort);
    std::sort(cohorts.begin(), cohorts.end());
    std::size_t total = 0;
    for (std::int32_t c : cohorts) total += static_cast<std::size_t>(static_cast<std::int64_t>(last) - c + 1);
    if (total > max_cells) return false;
    cells.reserve(total);
    const std::int32_t first_cohort = cohorts.front();
    std::vector<std::size_t> first_cell(static_cast<std::size_t>(static_cast<std::int64_t>(last) - first_cohort + 1));
    for (std::int32_t c : cohorts) {
        first_cell[static_cast<std::size_t>(c - first_cohort)] = cells.size();
        for (std::int64_t p = c; p <= last; ++p) {
            CohortCell cell;
            cell.cohort = c;
            cell.period = static_cast<std::int32_t>(p);
            cell.customers = sizes[c];
            cells.push_back(cell);
            ticker.tick();
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        const std::int32_t cohort = cohort_of[customer_of[i]];
        CohortCell& cell = cells[first_cell[static_cast<std::size_t>(cohort - first_cohort)] +
                                 static_cast<std::size_t>(pair[i].period - cohort)];
        cell.active += 1;
        if (kind_ == RevenueKind::Exact && !cell.revenue_exact.add(pair_exact_[i])) return false;
        if (kind_ == RevenueKind::Float) cell.revenue_float += pair_float_[i];
        ticker.tick();
    }
    return true;
}

std::size_t CohortBuilder::memory_bytes() const {
    return pairs_.memory_bytes() + pair_exact_.capacity() * sizeof(Decimal) + pair_float_.capacity() * sizeof(double);
}

}  // namespace crm
