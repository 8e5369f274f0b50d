// Frequent itemsets by FP-growth (Han, Pei & Yin, "Mining frequent patterns
// without candidate generation", SIGMOD 2000).
//
// The result is the same set, with the same counts, as arules' apriori /
// eclat with the same minimum count and maximum length: an itemset is frequent
// when it occurs in at least min_count baskets. min_count_for_support() turns a
// relative minimum support into that count exactly as arules does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "basket_transactions.hpp"

namespace crm {

// arules' minimum count for a relative minimum support: ceil(n * min_support)
// computed in double precision, as arules' C code does, and at least 1.
// 0.001 * 9835 = 9.835 -> 10. Note the product is rounded first, so a support
// that is "exactly" a multiple of 1/n can ask for one more basket than the
// exact value: 0.07 * 100 = 7.000000000000001 -> 8, in arules as here.
// min_support outside [0, 1] or NaN: 22023; n < 0: 22023.
std::int64_t min_count_for_support(double min_support, std::int64_t basket_count);

struct FpGrowthOptions {
    std::int64_t min_count = 1;  // >= 1
    int max_len = 10;            // largest itemset size, >= 1 (arules' maxlen default is 10)
    // When set, only these items (dense ids) take part: the others are removed
    // from every basket first. Ids out of range: 22023.
    std::optional<std::vector<ItemId>> only_items;
    // Bytes the trees, scratch and result may hold together; above it: 53200.
    std::size_t memory_limit_bytes = std::numeric_limits<std::size_t>::max();
    // Most itemsets the result may hold; more: 54000.
    std::size_t max_itemsets = std::numeric_limits<std::size_t>::max();
};

// The frequent itemsets, sorted by length, then by their items (dense ids,
// ascending within an itemset, compared lexicographically). Read-only.
class FrequentItemsets {
public:
    std::size_t size() const { return counts_.size(); }
    std::size_t length(std::size_t i) const { return offsets_[i + 1] - offsets_[i]; }
    const ItemId* begin(std::size_t i) const { return items_.data() + offsets_[i]; }
    const ItemId* end(std::size_t i) const { return items_.data() + offsets_[i + 1]; }
    std::int64_t count(std::size_t i) const { return counts_[i]; }

    std::int64_t basket_count() const { return basket_count_; }
    std::int64_t min_count() const { return min_count_; }
    int max_len() const { return max_len_; }

    // The count of an itemset given as ascending unique ids, found by binary
    // search; -1 when it is not frequent. The empty itemset: basket_count().
    std::int64_t find_count(const ItemId* items, std::size_t n) const;

    std::size_t memory_bytes() const;
    // The most bytes the mining held at once (trees, scratch and result).
    std::size_t peak_memory_bytes() const { return peak_bytes_; }

private:
    friend FrequentItemsets mine_frequent_itemsets(const Transactions&, const FpGrowthOptions&);
    std::vector<std::size_t> offsets_{0};
    std::vector<ItemId> items_;
    std::vector<std::int64_t> counts_;
    // length_start_[L - 1]: index of the first itemset of length >= L; one
    // more entry than the longest length (the end).
    std::vector<std::size_t> length_start_;
    std::int64_t basket_count_ = 0;
    std::int64_t min_count_ = 1;
    int max_len_ = 0;
    std::size_t peak_bytes_ = 0;
};

// Mines the frequent itemsets of `baskets`. Throws 22023 for bad options,
// 53200 (OutOfMemory) when the memory limit is exceeded and 54000 when there
// are more than max_itemsets itemsets, both with a hint to raise the minimum
// support or lower max_len; checks for interrupts while it mines.
FrequentItemsets mine_frequent_itemsets(const Transactions& baskets, const FpGrowthOptions& options);

// Bytes the first FP-tree and its scratch take (an upper bound), for a check
// before mining; the conditional trees and the result come on top.
std::size_t estimate_fpgrowth_bytes(const Transactions& baskets, const FpGrowthOptions& options);

}  // namespace crm
