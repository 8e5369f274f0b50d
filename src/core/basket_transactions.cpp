#include "basket_transactions.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "byte_io.hpp"
#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kBuilderVersion = 1;

template <typename V>
std::size_t capacity_bytes(const V& v) {
    return v.capacity() * sizeof(typename V::value_type);
}

std::int64_t read_le_i64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return static_cast<std::int64_t>(v);
}

// A count read from a state, checked against the bytes that must follow it
// before anything is allocated, so a corrupt count cannot ask for terabytes.
std::size_t read_length(ByteReader& r, std::size_t bytes_each, const std::uint8_t*& view) {
    const std::uint64_t n = r.u64();
    if (n > std::numeric_limits<std::size_t>::max() / bytes_each)
        throw Error(ErrorKind::InvalidBinary, "invalid basket rows state value: length out of range");
    view = r.take(n * bytes_each);
    return static_cast<std::size_t>(n);
}
}  // namespace

std::int64_t Transactions::find_item(std::int64_t key) const {
    const auto it = std::lower_bound(item_keys_.begin(), item_keys_.end(), key);
    if (it == item_keys_.end() || *it != key) return -1;
    return it - item_keys_.begin();
}

std::size_t Transactions::memory_bytes() const {
    return capacity_bytes(offsets_) + capacity_bytes(items_) + capacity_bytes(item_keys_) +
           capacity_bytes(item_counts_);
}

void Transactions::count_items() {
    item_counts_.assign(item_keys_.size(), 0);
    for (const ItemId id : items_) ++item_counts_[id];
}

Transactions Transactions::from_csr(std::vector<std::size_t> offsets, std::vector<ItemId> items,
                                    std::vector<std::int64_t> item_keys) {
    if (offsets.empty() || offsets.front() != 0 || offsets.back() != items.size())
        throw_invalid("transaction offsets must start at 0 and end at the number of items");
    if (!std::is_sorted(item_keys.begin(), item_keys.end()) ||
        std::adjacent_find(item_keys.begin(), item_keys.end()) != item_keys.end())
        throw_invalid("item keys must be strictly ascending");
    for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
        if (offsets[b] > offsets[b + 1]) throw_invalid("transaction offsets must not decrease");
        for (std::size_t i = offsets[b]; i < offsets[b + 1]; ++i) {
            if (items[i] >= item_keys.size()) throw_invalid("item id out of range");
            if (i > offsets[b] && items[i] <= items[i - 1])
                throw_invalid("the items of a basket must be sorted and unique");
        }
    }
    Transactions t;
    t.offsets_ = std::move(offsets);
    t.items_ = std::move(items);
    t.item_keys_ = std::move(item_keys);
    t.count_items();
    return t;
}

void TransactionBuilder::add(std::int64_t basket, std::int64_t item) { rows_.emplace_back(basket, item); }

void TransactionBuilder::add_basket(const std::int64_t* items, std::size_t n) {
    array_items_.insert(array_items_.end(), items, items + n);
    array_offsets_.push_back(array_items_.size());
}

void TransactionBuilder::merge(const TransactionBuilder& other) {
    rows_.insert(rows_.end(), other.rows_.begin(), other.rows_.end());
    const std::size_t base = array_items_.size();
    array_items_.insert(array_items_.end(), other.array_items_.begin(), other.array_items_.end());
    for (std::size_t b = 1; b < other.array_offsets_.size(); ++b)
        array_offsets_.push_back(base + other.array_offsets_[b]);
}

void TransactionBuilder::compact() {
    InterruptTicker ticker;
    std::sort(rows_.begin(), rows_.end(), ticking(ticker, std::less<>()));
    rows_.erase(std::unique(rows_.begin(), rows_.end()), rows_.end());
}

std::size_t TransactionBuilder::memory_bytes() const {
    return capacity_bytes(rows_) + capacity_bytes(array_offsets_) + capacity_bytes(array_items_);
}

std::size_t TransactionBuilder::estimate_finish_bytes() const {
    // The distinct-key scratch (8 bytes a row or array item, at most), then the
    // CSR: 4 bytes an item, 8 an offset, 16 a distinct item (key and count).
    const std::size_t pairs = rows_.size() + array_items_.size();
    const std::size_t baskets = rows_.size() + array_basket_count() + 1;
    return 8 * pairs + 4 * pairs + 8 * baskets + 16 * pairs;
}

std::size_t TransactionBuilder::estimate_bytes_for_rows(std::size_t rows) {
    // A vector grows by doubling: up to twice the rows' 16 bytes.
    return 2 * 16 * rows;
}

std::vector<std::uint8_t> TransactionBuilder::serialize() const {
    ByteWriter w(tags::basket_rows, kBuilderVersion);
    w.u64(rows_.size());
    for (const auto& [basket, item] : rows_) {
        w.i64(basket);
        w.i64(item);
    }
    w.u64(array_basket_count());
    for (std::size_t b = 1; b < array_offsets_.size(); ++b) w.u64(array_offsets_[b] - array_offsets_[b - 1]);
    w.u64(array_items_.size());
    for (const std::int64_t item : array_items_) w.i64(item);
    return w.take();
}

TransactionBuilder TransactionBuilder::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::basket_rows, kBuilderVersion, "basket rows state");
    TransactionBuilder b;
    const std::uint8_t* p = nullptr;
    const std::size_t rows = read_length(r, 16, p);
    b.rows_.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) b.rows_[i] = {read_le_i64(p + 16 * i), read_le_i64(p + 16 * i + 8)};
    const std::size_t baskets = read_length(r, 8, p);
    b.array_offsets_.reserve(baskets + 1);
    std::size_t total = 0;
    for (std::size_t i = 0; i < baskets; ++i) {
        const auto len = static_cast<std::uint64_t>(read_le_i64(p + 8 * i));
        if (len > std::numeric_limits<std::size_t>::max() - total)
            throw Error(ErrorKind::InvalidBinary, "invalid basket rows state value: basket length out of range");
        total += static_cast<std::size_t>(len);
        b.array_offsets_.push_back(total);
    }
    const std::size_t items = read_length(r, 8, p);
    if (items != total)
        throw Error(ErrorKind::InvalidBinary, "invalid basket rows state value: basket lengths do not add up");
    b.array_items_.resize(items);
    for (std::size_t i = 0; i < items; ++i) b.array_items_[i] = read_le_i64(p + 8 * i);
    r.expect_end();
    return b;
}

Transactions TransactionBuilder::finish() {
    compact();
    InterruptTicker ticker;
    Transactions t;

    // Distinct item keys, ascending: the dense id of a key is its rank.
    {
        std::vector<std::int64_t> keys;
        keys.reserve(rows_.size() + array_items_.size());
        for (const auto& row : rows_) keys.push_back(row.second);
        keys.insert(keys.end(), array_items_.begin(), array_items_.end());
        std::sort(keys.begin(), keys.end(), ticking(ticker, std::less<>()));
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        if (keys.size() > std::numeric_limits<ItemId>::max())
            throw_error(ErrorKind::ProgramLimitExceeded,
                        "too many distinct items for market-basket analysis: " + std::to_string(keys.size()),
                        "At most 4294967295 distinct items are supported.");
        t.item_keys_.assign(keys.begin(), keys.end());  // an exact-size copy
    }
    const auto dense = [&t](std::int64_t key) {
        return static_cast<ItemId>(std::lower_bound(t.item_keys_.begin(), t.item_keys_.end(), key) -
                                   t.item_keys_.begin());
    };

    t.items_.reserve(rows_.size() + array_items_.size());
    t.offsets_.reserve(array_basket_count() + 2);
    // Rows are sorted by (basket, item) and unique, so each basket is one run
    // and its dense ids come out ascending and unique.
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        ticker.tick();
        if (i > 0 && rows_[i].first != rows_[i - 1].first) t.offsets_.push_back(t.items_.size());
        t.items_.push_back(dense(rows_[i].second));
    }
    if (!rows_.empty()) t.offsets_.push_back(t.items_.size());
    for (std::size_t b = 1; b < array_offsets_.size(); ++b) {
        const auto first = t.items_.size();
        for (std::size_t i = array_offsets_[b - 1]; i < array_offsets_[b]; ++i) {
            ticker.tick();
            t.items_.push_back(dense(array_items_[i]));
        }
        std::sort(t.items_.begin() + first, t.items_.end());
        t.items_.erase(std::unique(t.items_.begin() + first, t.items_.end()), t.items_.end());
        t.offsets_.push_back(t.items_.size());
    }
    release();
    t.count_items();
    return t;
}

void TransactionBuilder::release() {
    rows_.clear();
    rows_.shrink_to_fit();
    array_items_.clear();
    array_items_.shrink_to_fit();
    array_offsets_.assign(1, 0);
    array_offsets_.shrink_to_fit();
}

}  // namespace crm
