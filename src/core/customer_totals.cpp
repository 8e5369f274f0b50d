#include "customer_totals.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "errors.hpp"

namespace crm {

namespace {

constexpr std::size_t kInitialSlots = 1024;  // a power of two
// How far ahead of the row being added its slot is prefetched: enough rows
// to cover a memory latency, few enough that the lines are still in cache.
constexpr std::size_t kPrefetchDistance = 16;

// Fibonacci hashing: the high bits of key * 2^64/phi spread consecutive and
// strided keys (customer ids) evenly over the slots.
inline std::size_t hash_slot(std::int64_t key, int shift) {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ULL) >> shift);
}

}  // namespace

CustomerTotals::CustomerTotals() : slots_(kInitialSlots, Slot{0, 0}), mask_(kInitialSlots - 1), shift_(64 - 10) {}

std::size_t CustomerTotals::slot_of(std::int64_t key) const {
    std::size_t s = hash_slot(key, shift_);
    while (slots_[s].index != 0 && slots_[s].key != key) s = (s + 1) & mask_;
    return s;
}

void CustomerTotals::grow() {
    const std::size_t capacity = slots_.size() * 2;
    if (keys_.size() >= std::numeric_limits<std::uint32_t>::max() / 2)
        throw_error(ErrorKind::ProgramLimitExceeded, "more than 2^31 customers");
    slots_.assign(capacity, Slot{0, 0});
    mask_ = capacity - 1;
    --shift_;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        const std::size_t s = slot_of(keys_[i]);
        slots_[s] = Slot{keys_[i], static_cast<std::uint32_t>(i + 1)};
    }
}

void CustomerTotals::add_batch(const std::int64_t* keys, const std::int64_t* times, const double* amounts,
                               std::size_t n) {
    if (sealed_) throw_error(ErrorKind::Internal, "CustomerTotals: rows added after sort_by_key");
    for (std::size_t r = 0; r < n; ++r) {
        // Keep the load factor at most 1/2 so probes stay short.
        if (2 * (keys_.size() + 1) > slots_.size()) grow();
        if (r + kPrefetchDistance < n) __builtin_prefetch(&slots_[hash_slot(keys[r + kPrefetchDistance], shift_)]);
        const std::int64_t key = keys[r];
        const std::size_t s = slot_of(key);
        if (slots_[s].index == 0) {
            keys_.push_back(key);
            last_.push_back(times[r]);
            count_.push_back(1);
            sum_.push_back(amounts[r]);
            slots_[s] = Slot{key, static_cast<std::uint32_t>(keys_.size())};
            continue;
        }
        const std::size_t i = slots_[s].index - 1;
        last_[i] = std::max(last_[i], times[r]);
        count_[i] += 1;
        sum_[i] += amounts[r];
    }
}

void CustomerTotals::sort_by_key() {
    std::vector<std::uint32_t> order(keys_.size());
    std::iota(order.begin(), order.end(), 0U);
    std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) { return keys_[a] < keys_[b]; });
    const auto permute = [&order](auto& v) {
        std::remove_reference_t<decltype(v)> sorted(v.size());
        for (std::size_t i = 0; i < order.size(); ++i) sorted[i] = v[order[i]];
        v.swap(sorted);
    };
    permute(keys_);
    permute(last_);
    permute(count_);
    permute(sum_);
    slots_.clear();
    slots_.shrink_to_fit();
    sealed_ = true;
}

std::size_t CustomerTotals::memory_bytes() const {
    return slots_.capacity() * sizeof(Slot) +
           keys_.capacity() * (sizeof(std::int64_t) * 3 + sizeof(double));
}

}  // namespace crm
