// Market-basket transactions and FP-growth: hand-computed sets, the parallel
// state's bytes, and randomized comparisons with brute-force enumeration.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "basket_transactions.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "fpgrowth.hpp"
#include "interrupts.hpp"

namespace {

using Itemset = std::vector<crm::ItemId>;
using Counts = std::map<Itemset, std::int64_t>;

Counts as_map(const crm::FrequentItemsets& sets) {
    Counts out;
    for (std::size_t i = 0; i < sets.size(); ++i) out[Itemset(sets.begin(i), sets.end(i))] = sets.count(i);
    return out;
}

// Every subset of every basket, counted (baskets here have at most 12 items).
Counts all_subsets(const crm::Transactions& t, const std::vector<bool>* allowed = nullptr) {
    Counts all;
    for (std::size_t b = 0; b < t.basket_count(); ++b) {
        Itemset items;
        for (const auto* p = t.begin(b); p != t.end(b); ++p)
            if (!allowed || (*allowed)[*p]) items.push_back(*p);
        const std::size_t k = items.size();
        for (std::uint32_t mask = 1; mask < (1u << k); ++mask) {
            Itemset s;
            for (std::size_t i = 0; i < k; ++i)
                if (mask >> i & 1u) s.push_back(items[i]);
            ++all[s];
        }
    }
    return all;
}

Counts frequent_only(const Counts& all, std::int64_t min_count, int max_len) {
    Counts frequent;
    for (const auto& [s, c] : all)
        if (c >= min_count && s.size() <= static_cast<std::size_t>(max_len)) frequent[s] = c;
    return frequent;
}

Counts brute_force(const crm::Transactions& t, std::int64_t min_count, int max_len,
                   const std::vector<bool>* allowed = nullptr) {
    return frequent_only(all_subsets(t, allowed), min_count, max_len);
}

// Baskets by key: 10 {1,2,3}, 20 {1,2}, 30 {1,3}, 40 {2,3}, 50 {1,2,3,4},
// 60 {4}; rows shuffled and some repeated; plus one empty array basket.
crm::Transactions small_baskets() {
    crm::TransactionBuilder b;
    const std::vector<std::pair<std::int64_t, std::int64_t>> rows = {
        {50, 4}, {10, 1}, {40, 3}, {20, 2}, {10, 2}, {50, 1}, {30, 1}, {10, 3}, {60, 4}, {20, 1},
        {50, 3}, {30, 3}, {40, 2}, {50, 2}, {10, 2}, {60, 4}, {50, 4}};
    for (const auto& [basket, item] : rows) b.add(basket, item);
    b.add_basket(std::vector<std::int64_t>{});
    return b.finish();
}

TEST(BasketTransactions, RowsInAnyOrderWithRepeats) {
    const auto t = small_baskets();
    EXPECT_EQ(t.basket_count(), 7u);
    EXPECT_EQ(t.item_count(), 4u);
    EXPECT_EQ(t.pair_count(), 14u);
    EXPECT_EQ(t.item_keys(), (std::vector<std::int64_t>{1, 2, 3, 4}));
    EXPECT_EQ(t.item_counts(), (std::vector<std::int64_t>{4, 4, 4, 2}));
    // Baskets in key order; dense ids are ranks of the keys.
    EXPECT_EQ(Itemset(t.begin(0), t.end(0)), (Itemset{0, 1, 2}));
    EXPECT_EQ(Itemset(t.begin(4), t.end(4)), (Itemset{0, 1, 2, 3}));
    EXPECT_EQ(Itemset(t.begin(5), t.end(5)), (Itemset{3}));
    EXPECT_EQ(t.basket_size(6), 0u);
    EXPECT_EQ(t.find_item(3), 2);
    EXPECT_EQ(t.find_item(7), -1);
    EXPECT_GT(t.memory_bytes(), 0u);
}

TEST(BasketTransactions, ArraysDropRepeatsAndKeysAreSortedNotSeen) {
    crm::TransactionBuilder b;
    b.add_basket(std::vector<std::int64_t>{900, -5, 900, 7});
    b.add_basket(std::vector<std::int64_t>{7});
    const auto t = b.finish();
    EXPECT_EQ(t.item_keys(), (std::vector<std::int64_t>{-5, 7, 900}));
    EXPECT_EQ(Itemset(t.begin(0), t.end(0)), (Itemset{0, 1, 2}));
    EXPECT_EQ(t.item_counts(), (std::vector<std::int64_t>{1, 2, 1}));
    EXPECT_TRUE(b.empty());  // finish() leaves the builder empty
}

TEST(BasketTransactions, EmptyInput) {
    crm::TransactionBuilder b;
    const auto t = b.finish();
    EXPECT_EQ(t.basket_count(), 0u);
    EXPECT_EQ(t.item_count(), 0u);
    const auto sets = crm::mine_frequent_itemsets(t, {});
    EXPECT_EQ(sets.size(), 0u);
    EXPECT_EQ(sets.basket_count(), 0);
}

TEST(BasketTransactions, MergedAndSerialisedStatesGiveTheSameBaskets) {
    crm::TransactionBuilder a, b, whole;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000; ++i) {
        const std::int64_t basket = static_cast<std::int64_t>(rng() % 300);
        const std::int64_t item = static_cast<std::int64_t>(rng() % 50) - 10;
        whole.add(basket, item);
        (i % 3 ? a : b).add(basket, item);
    }
    whole.add_basket(std::vector<std::int64_t>{1, 2});
    b.add_basket(std::vector<std::int64_t>{1, 2});
    const auto bytes = b.serialize();
    auto restored = crm::TransactionBuilder::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(restored.serialize(), bytes);
    a.merge(restored);
    a.compact();
    EXPECT_LE(a.row_count(), 2000u);
    const auto x = a.finish();
    const auto y = whole.finish();
    ASSERT_EQ(x.basket_count(), y.basket_count());
    EXPECT_EQ(x.item_keys(), y.item_keys());
    for (std::size_t i = 0; i < x.basket_count(); ++i)
        EXPECT_EQ(Itemset(x.begin(i), x.end(i)), Itemset(y.begin(i), y.end(i)));
}

TEST(BasketTransactions, CorruptStatesAreRejected) {
    crm::TransactionBuilder b;
    b.add(1, 2);
    b.add_basket(std::vector<std::int64_t>{3, 4});
    const auto bytes = b.serialize();
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_ERROR_KIND((void)crm::TransactionBuilder::deserialize(bytes.data(), cut), crm::ErrorKind::InvalidBinary);
    auto huge = bytes;
    huge[2] = 0xFF;  // the row count's low byte: more rows than bytes
    huge[9] = 0x7F;
    EXPECT_ERROR_KIND((void)crm::TransactionBuilder::deserialize(huge.data(), huge.size()),
                      crm::ErrorKind::InvalidBinary);
    auto bad_lengths = bytes;
    bad_lengths[2 + 8 + 16 + 8] = 3;  // the array basket claims 3 items, 2 follow
    EXPECT_ERROR_KIND((void)crm::TransactionBuilder::deserialize(bad_lengths.data(), bad_lengths.size()),
                      crm::ErrorKind::InvalidBinary);
}

TEST(BasketTransactions, FromCsrChecksItsInput) {
    EXPECT_ERROR_KIND((void)crm::Transactions::from_csr({0, 2}, {1, 1}, {5, 6}), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND((void)crm::Transactions::from_csr({0, 1}, {2}, {5, 6}), crm::ErrorKind::InvalidParameter);
    const auto t = crm::Transactions::from_csr({0, 2, 3}, {0, 1, 1}, {5, 6});
    EXPECT_EQ(t.item_counts(), (std::vector<std::int64_t>{1, 2}));
}

TEST(MinCountForSupport, MatchesArules) {
    EXPECT_EQ(crm::min_count_for_support(0.001, 9835), 10);  // 9.835 -> 10
    EXPECT_EQ(crm::min_count_for_support(0.07, 100), 8);     // 7.000000000000001 -> 8, as arules
    EXPECT_EQ(crm::min_count_for_support(0.5, 10), 5);
    EXPECT_EQ(crm::min_count_for_support(0.0, 10), 1);
    EXPECT_EQ(crm::min_count_for_support(1.0, 10), 10);
    EXPECT_ERROR_KIND((void)crm::min_count_for_support(-0.1, 10), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND((void)crm::min_count_for_support(1.5, 10), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND((void)crm::min_count_for_support(std::nan(""), 10), crm::ErrorKind::InvalidParameter);
}

TEST(FpGrowth, HandComputedWithTies) {
    const auto t = small_baskets();
    crm::FpGrowthOptions o;
    o.min_count = 2;
    const auto sets = crm::mine_frequent_itemsets(t, o);
    // Items 0, 1, 2 tie at 4; sorted by length then items.
    const std::vector<std::pair<Itemset, std::int64_t>> expected = {
        {{0}, 4}, {{1}, 4}, {{2}, 4}, {{3}, 2}, {{0, 1}, 3}, {{0, 2}, 3}, {{1, 2}, 3}, {{0, 1, 2}, 2}};
    ASSERT_EQ(sets.size(), expected.size());
    for (std::size_t i = 0; i < sets.size(); ++i) {
        EXPECT_EQ(Itemset(sets.begin(i), sets.end(i)), expected[i].first) << i;
        EXPECT_EQ(sets.count(i), expected[i].second) << i;
    }
    const Itemset pair{0, 2}, absent{0, 3};
    EXPECT_EQ(sets.find_count(pair.data(), 2), 3);
    EXPECT_EQ(sets.find_count(absent.data(), 2), -1);
    EXPECT_EQ(sets.find_count(nullptr, 0), 7);
    const Itemset four{0, 1, 2, 3};
    EXPECT_EQ(sets.find_count(four.data(), 4), -1);

    o.min_count = 1;
    const auto all = crm::mine_frequent_itemsets(t, o);
    EXPECT_EQ(as_map(all), brute_force(t, 1, 10));
    EXPECT_EQ(all.size(), 15u);  // every non-empty subset of {0, 1, 2, 3}

    o.max_len = 2;
    EXPECT_EQ(as_map(crm::mine_frequent_itemsets(t, o)), brute_force(t, 1, 2));
    o.max_len = 1;
    EXPECT_EQ(crm::mine_frequent_itemsets(t, o).size(), 4u);
}

TEST(FpGrowth, OneItemBasketsAndItemFilter) {
    crm::TransactionBuilder b;
    for (int i = 0; i < 5; ++i) b.add_basket(std::vector<std::int64_t>{42});
    b.add_basket(std::vector<std::int64_t>{42, 43});
    b.add_basket(std::vector<std::int64_t>{42, 43});
    const auto t = b.finish();
    crm::FpGrowthOptions o;
    o.min_count = 2;
    EXPECT_EQ(as_map(crm::mine_frequent_itemsets(t, o)), (Counts{{{0}, 7}, {{1}, 2}, {{0, 1}, 2}}));
    o.only_items = std::vector<crm::ItemId>{1};
    EXPECT_EQ(as_map(crm::mine_frequent_itemsets(t, o)), (Counts{{{1}, 2}}));
    o.only_items = std::vector<crm::ItemId>{};
    EXPECT_EQ(crm::mine_frequent_itemsets(t, o).size(), 0u);
    o.only_items = std::vector<crm::ItemId>{9};
    EXPECT_ERROR_KIND((void)crm::mine_frequent_itemsets(t, o), crm::ErrorKind::InvalidParameter);
}

TEST(FpGrowth, BadOptions) {
    const auto t = small_baskets();
    crm::FpGrowthOptions o;
    o.min_count = 0;
    EXPECT_ERROR_KIND((void)crm::mine_frequent_itemsets(t, o), crm::ErrorKind::InvalidParameter);
    o.min_count = 1;
    o.max_len = 0;
    EXPECT_ERROR_KIND((void)crm::mine_frequent_itemsets(t, o), crm::ErrorKind::InvalidParameter);
}

// Baskets of 0 to 11 items from 14 items with skewed popularity and two
// planted groups bought together.
crm::Transactions random_baskets(std::uint64_t seed, std::size_t n) {
    std::mt19937_64 rng(seed);
    std::vector<double> weights;
    for (int i = 0; i < 14; ++i) weights.push_back(1.0 / (1.0 + i));
    std::discrete_distribution<int> item(weights.begin(), weights.end());
    std::uniform_int_distribution<int> size(0, 7);
    crm::TransactionBuilder b;
    for (std::size_t k = 0; k < n; ++k) {
        std::vector<std::int64_t> basket;
        const int s = size(rng);
        for (int i = 0; i < s; ++i) basket.push_back(100 + item(rng));
        if (rng() % 5 == 0) basket.insert(basket.end(), {200, 201, 202});
        if (rng() % 7 == 0) basket.insert(basket.end(), {100, 113});
        if (k % 2) {
            b.add_basket(basket);
        } else {
            for (const auto i : basket) b.add(static_cast<std::int64_t>(k), i);
        }
    }
    return b.finish();
}

TEST(FpGrowth, RandomBasketsMatchBruteForce) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        const auto t = random_baskets(seed, 150 + 50 * seed);
        const Counts all = all_subsets(t);
        for (const std::int64_t min_count : {1, 2, 5, 13, 40}) {
            for (const int max_len : {1, 2, 3, 10}) {
                SCOPED_TRACE("seed " + std::to_string(seed) + " min_count " + std::to_string(min_count) +
                             " max_len " + std::to_string(max_len));
                crm::FpGrowthOptions o;
                o.min_count = min_count;
                o.max_len = max_len;
                const auto sets = crm::mine_frequent_itemsets(t, o);
                // Same itemsets, same counts, nothing missing, nothing extra.
                EXPECT_EQ(as_map(sets), frequent_only(all, min_count, max_len));
                for (std::size_t i = 1; i < sets.size(); ++i) {
                    const Itemset x(sets.begin(i - 1), sets.end(i - 1)), y(sets.begin(i), sets.end(i));
                    EXPECT_TRUE(x.size() < y.size() || (x.size() == y.size() && x < y)) << "order at " << i;
                }
            }
        }
        // Only some items take part.
        std::vector<bool> allowed(t.item_count(), false);
        std::vector<crm::ItemId> only;
        for (crm::ItemId i = 0; i < t.item_count(); i += 2) {
            allowed[i] = true;
            only.push_back(i);
        }
        crm::FpGrowthOptions o;
        o.min_count = 3;
        o.only_items = only;
        EXPECT_EQ(as_map(crm::mine_frequent_itemsets(t, o)), brute_force(t, 3, 10, &allowed));
    }
}

TEST(FpGrowth, MemoryAndItemsetLimits) {
    const auto t = random_baskets(3, 400);
    crm::FpGrowthOptions o;
    o.min_count = 2;
    const auto sets = crm::mine_frequent_itemsets(t, o);
    EXPECT_GT(sets.peak_memory_bytes(), 0u);
    EXPECT_GT(crm::estimate_fpgrowth_bytes(t, o), 0u);

    o.max_itemsets = sets.size();
    EXPECT_EQ(crm::mine_frequent_itemsets(t, o).size(), sets.size());
    o.max_itemsets = sets.size() - 1;
    const auto limit = crm_test::expect_error_kind([&] { (void)crm::mine_frequent_itemsets(t, o); },
                                                   crm::ErrorKind::ProgramLimitExceeded);
    EXPECT_NE(limit.find("max_len"), std::string::npos) << limit;

    o.max_itemsets = std::numeric_limits<std::size_t>::max();
    o.memory_limit_bytes = 1000;  // below the first tree's estimate
    const auto upfront = crm_test::expect_error_kind([&] { (void)crm::mine_frequent_itemsets(t, o); },
                                                     crm::ErrorKind::OutOfMemory);
    EXPECT_NE(upfront.find("minimum support"), std::string::npos) << upfront;
    // Enough for the first tree, not for all the conditional trees and the result.
    o.memory_limit_bytes = crm::estimate_fpgrowth_bytes(t, o) + 2000;
    ASSERT_LT(o.memory_limit_bytes, sets.peak_memory_bytes());
    EXPECT_ERROR_KIND((void)crm::mine_frequent_itemsets(t, o), crm::ErrorKind::OutOfMemory);
    o.memory_limit_bytes = sets.peak_memory_bytes();
    EXPECT_EQ(crm::mine_frequent_itemsets(t, o).size(), sets.size());
}

void cancel() { throw crm::Error(crm::ErrorKind::QueryCanceled, "canceling statement"); }

TEST(FpGrowth, Cancellable) {
    const auto t = random_baskets(5, 2000);
    crm::FpGrowthOptions o;
    o.min_count = 1;
    const auto previous = crm::set_interrupt_handler(&cancel);
    EXPECT_ERROR_KIND((void)crm::mine_frequent_itemsets(t, o), crm::ErrorKind::QueryCanceled);
    crm::TransactionBuilder b;
    for (int i = 0; i < 10000; ++i) b.add(i % 977, i % 31);
    EXPECT_ERROR_KIND((void)b.finish(), crm::ErrorKind::QueryCanceled);
    crm::set_interrupt_handler(previous);
}

}  // namespace
