// Market-basket transactions: a compact store of which items each basket holds.
//
// Two steps, as an aggregate works: a TransactionBuilder collects rows, in any
// order and possibly split across parallel workers (add / merge / serialize /
// deserialize), and finish() turns it into Transactions, a read-only CSR form
// (one sorted run of dense item ids per basket) that the miner walks.
//
// Items and baskets are int64 keys; the adapter maps text keys to int64 itself.
// Dense item ids are the ranks of the distinct item keys in ascending key
// order, so they do not depend on the order the rows arrived in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <utility>
#include <vector>

namespace crm {

using ItemId = std::uint32_t;  // dense item id, 0 .. item_count() - 1

// Read-only baskets in CSR form. Each basket's items are sorted ascending and
// unique. Baskets with no item count as baskets (arules counts empty
// transactions in the support denominator too).
class Transactions {
public:
    Transactions() = default;

    std::size_t basket_count() const { return offsets_.size() - 1; }
    std::size_t item_count() const { return item_keys_.size(); }
    // Total number of (basket, item) pairs after duplicates were removed.
    std::size_t pair_count() const { return items_.size(); }

    // The items of basket b as [begin, end).
    const ItemId* begin(std::size_t b) const { return items_.data() + offsets_[b]; }
    const ItemId* end(std::size_t b) const { return items_.data() + offsets_[b + 1]; }
    std::size_t basket_size(std::size_t b) const { return offsets_[b + 1] - offsets_[b]; }

    // The int64 key of a dense id, and the dense id of a key (-1 when the key
    // never occurred).
    std::int64_t item_key(ItemId id) const { return item_keys_[id]; }
    const std::vector<std::int64_t>& item_keys() const { return item_keys_; }
    std::int64_t find_item(std::int64_t key) const;

    // In how many baskets each item occurs (indexed by dense id).
    const std::vector<std::int64_t>& item_counts() const { return item_counts_; }

    // Heap bytes held (capacities, not sizes).
    std::size_t memory_bytes() const;

    // Direct construction from CSR arrays (tests, tools): offsets has
    // basket_count + 1 entries starting at 0; each basket's ids must be sorted,
    // unique and below item_keys.size(); item_keys ascending. Checked: 22023.
    static Transactions from_csr(std::vector<std::size_t> offsets, std::vector<ItemId> items,
                                 std::vector<std::int64_t> item_keys);

private:
    friend class TransactionBuilder;
    void count_items();

    std::vector<std::size_t> offsets_{0};
    std::vector<ItemId> items_;
    std::vector<std::int64_t> item_keys_;
    std::vector<std::int64_t> item_counts_;
};

// Collects baskets in two forms that may be mixed:
//  - rows (basket key, item key), in any order: rows of one basket need not be
//    adjacent, a repeated row is counted once;
//  - whole baskets given as arrays of item keys (one call per basket; repeated
//    items counted once). Such a basket has no key: two arrays are always two
//    baskets, even with the same items.
// Memory: memory_bytes() is the heap the builder holds; the adapter compares it
// with its limit after each row (it is O(1)). Rows cost 16 bytes each until
// finish() (estimate_finish_bytes() says how much finish() adds at its peak).
class TransactionBuilder {
public:
    // The rows' arrays come from `memory` (the adapter passes a resource over
    // the aggregate's memory context, so PostgreSQL counts them).
    explicit TransactionBuilder(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : rows_(memory), array_offsets_(1, 0, memory), array_items_(memory) {}

    void add(std::int64_t basket, std::int64_t item);
    void add_basket(const std::int64_t* items, std::size_t n);
    void add_basket(const std::vector<std::int64_t>& items) { add_basket(items.data(), items.size()); }

    // Takes over another builder's rows and baskets (parallel workers).
    void merge(const TransactionBuilder& other);

    // Sorts the rows and drops repeated ones, in place: a caller near its
    // memory limit may call it to shrink a builder fed many duplicates.
    // Interruptible.
    void compact();

    // Versioned bytes (tag basket_rows) and back; corrupt bytes are 22P03.
    std::vector<std::uint8_t> serialize() const;
    static TransactionBuilder deserialize(const std::uint8_t* data, std::size_t size);

    std::size_t row_count() const { return rows_.size(); }
    std::size_t array_basket_count() const { return array_offsets_.size() - 1; }
    bool empty() const { return rows_.empty() && array_basket_count() == 0; }

    std::size_t memory_bytes() const;
    // Bytes finish() allocates on top of memory_bytes() at its peak (the CSR
    // arrays and the item table), an upper bound.
    std::size_t estimate_finish_bytes() const;
    // What a builder holding `rows` rows costs (for a check before reading).
    static std::size_t estimate_bytes_for_rows(std::size_t rows);

    // Builds the CSR form: keyed baskets first, in ascending basket key, then
    // the array baskets in the order they were added (merged builders' after
    // this one's). Basket order does not change any mining result. Leaves the
    // builder empty. Interruptible (the sort ticks). More than 2^32 - 1
    // distinct items: 54000.
    Transactions finish();

private:
    void release();  // empties the builder and gives its memory back

    std::pmr::vector<std::pair<std::int64_t, std::int64_t>> rows_;  // (basket, item)
    std::pmr::vector<std::size_t> array_offsets_;                  // starts with 0
    std::pmr::vector<std::int64_t> array_items_;
};

}  // namespace crm
