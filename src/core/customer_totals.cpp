#include "customer_totals.hpp"

#include <algorithm>
#include <numeric>

#include "errors.hpp"

namespace crm {

namespace {
// How far ahead of the row being added its slot is prefetched: enough rows
// to cover a memory latency, few enough that the lines are still in cache.
constexpr std::size_t kPrefetchDistance = 16;
}  // namespace

void CustomerTotals::add_batch(const std::int64_t* keys, const std::int64_t* times, const double* amounts,
                               std::size_t n) {
    if (sealed_) throw_error(ErrorKind::Internal, "CustomerTotals: rows added after sort_by_key");
    for (std::size_t r = 0; r < n; ++r) {
        if (r + kPrefetchDistance < n) index_.prefetch(keys[r + kPrefetchDistance]);
        bool added;
        const std::uint32_t i = index_.find_or_add(keys[r], &added);
        if (added) {
            last_.push_back(times[r]);
            count_.push_back(1);
            sum_.push_back(amounts[r]);
            continue;
        }
        last_[i] = std::max(last_[i], times[r]);
        count_[i] += 1;
        sum_[i] += amounts[r];
    }
}

void CustomerTotals::sort_by_key() {
    std::vector<std::int64_t> keys = index_.keys();
    std::vector<std::uint32_t> order(keys.size());
    std::iota(order.begin(), order.end(), 0U);
    std::sort(order.begin(), order.end(), [&keys](std::uint32_t a, std::uint32_t b) { return keys[a] < keys[b]; });
    const auto permute = [&order](auto& v) {
        std::remove_reference_t<decltype(v)> sorted(v.size());
        for (std::size_t i = 0; i < order.size(); ++i) sorted[i] = v[order[i]];
        v.swap(sorted);
    };
    permute(keys);
    permute(last_);
    permute(count_);
    permute(sum_);
    sorted_keys_.swap(keys);
    index_ = FlatIndex<std::int64_t, Int64KeyHash>();
    sealed_ = true;
}

std::size_t CustomerTotals::memory_bytes() const {
    return index_.memory_bytes() + sorted_keys_.capacity() * sizeof(std::int64_t) +
           last_.capacity() * (sizeof(std::int64_t) * 2 + sizeof(double));
}

}  // namespace crm
