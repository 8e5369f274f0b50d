// Association rules: measures checked by hand, arules' empty antecedents,
// multi-item consequents and constraints against brute force, and the
// "frequently bought together" ranking.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "association_rules.hpp"
#include "basket_recommend.hpp"
#include "basket_transactions.hpp"
#include "expect_error.hpp"
#include "fpgrowth.hpp"

namespace {

using Items = std::vector<crm::ItemId>;

// Keys 1..4 are dense ids 0..3. Baskets: {1,2,3} {1,2} {1,3} {2,3}
// {1,2,3,4} {4} and an empty one: n = 7, each of 0, 1, 2 in 4 baskets, 3 in
// 2, each pair of 0..2 in 3, {0,1,2} in 2.
crm::FrequentItemsets small_itemsets(std::int64_t min_count = 2) {
    crm::TransactionBuilder b;
    for (const auto& basket : std::vector<std::vector<std::int64_t>>{
             {1, 2, 3}, {1, 2}, {1, 3}, {2, 3}, {1, 2, 3, 4}, {4}, {}})
        b.add_basket(basket);
    crm::FpGrowthOptions o;
    o.min_count = min_count;
    return crm::mine_frequent_itemsets(b.finish(), o);
}

const crm::AssociationRule* find_rule(const std::vector<crm::AssociationRule>& rules, const Items& a, const Items& c) {
    for (const auto& r : rules)
        if (r.antecedent == a && r.consequent == c) return &r;
    return nullptr;
}

TEST(AssociationRules, MeasuresByHand) {
    crm::RuleOptions o;
    o.min_confidence = 0.6;
    const auto rules = crm::association_rules(small_itemsets(), o);
    // Six pair rules at 3/4 and three triple rules at 2/3; {} => {x} has 4/7.
    ASSERT_EQ(rules.size(), 9u);
    const auto* r = find_rule(rules, {0}, {1});
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->count, 3);
    EXPECT_EQ(r->antecedent_count, 4);
    EXPECT_EQ(r->consequent_count, 4);
    EXPECT_DOUBLE_EQ(r->support, 3.0 / 7);
    EXPECT_DOUBLE_EQ(r->coverage, 4.0 / 7);
    EXPECT_DOUBLE_EQ(r->confidence, 0.75);
    EXPECT_DOUBLE_EQ(r->lift, 0.75 * 7 / 4);             // 1.3125
    EXPECT_DOUBLE_EQ(r->leverage, 3.0 / 7 - 16.0 / 49);  // 5/49
    EXPECT_DOUBLE_EQ(r->conviction, (3.0 / 7) / 0.25);   // 12/7
    const auto* t = find_rule(rules, {0, 2}, {1});
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->count, 2);
    EXPECT_DOUBLE_EQ(t->confidence, 2.0 / 3);
    EXPECT_DOUBLE_EQ(t->lift, 7.0 / 6);
    EXPECT_DOUBLE_EQ(t->coverage, 3.0 / 7);
    // Order: by itemset (length, items), then consequent.
    EXPECT_EQ(rules[0].antecedent, Items{1});
    EXPECT_EQ(rules[0].consequent, Items{0});
    EXPECT_EQ(rules[1].antecedent, Items{0});
    EXPECT_EQ(rules[1].consequent, Items{1});
    EXPECT_EQ(rules[8].antecedent, (Items{0, 1}));
    EXPECT_EQ(rules[8].consequent, Items{2});
}

TEST(AssociationRules, EmptyAntecedentsAsArules) {
    crm::RuleOptions o;
    o.min_confidence = 0.5;
    const auto rules = crm::association_rules(small_itemsets(), o);
    // {} => {x} for x in 0..2 (4/7 >= 0.5), not for 3 (2/7).
    const auto* e = find_rule(rules, {}, {2});
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->antecedent_count, 7);
    EXPECT_DOUBLE_EQ(e->confidence, 4.0 / 7);
    EXPECT_DOUBLE_EQ(e->coverage, 1.0);
    EXPECT_DOUBLE_EQ(e->lift, 1.0);
    EXPECT_DOUBLE_EQ(e->leverage, 0.0);
    EXPECT_EQ(find_rule(rules, {}, {3}), nullptr);
    o.min_len = 2;
    for (const auto& r : crm::association_rules(small_itemsets(), o)) EXPECT_FALSE(r.antecedent.empty());
}

TEST(AssociationRules, ConvictionIsInfiniteAtConfidenceOne) {
    crm::TransactionBuilder b;
    b.add_basket(std::vector<std::int64_t>{1, 2});
    b.add_basket(std::vector<std::int64_t>{1, 2});
    b.add_basket(std::vector<std::int64_t>{1});
    const auto sets = crm::mine_frequent_itemsets(b.finish(), {});
    crm::RuleOptions o;
    o.min_confidence = 1.0;
    const auto rules = crm::association_rules(sets, o);
    ASSERT_EQ(rules.size(), 2u);  // {} => {1} and {2} => {1}
    const auto* r = find_rule(rules, {1}, {0});
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->confidence, 1.0);
    EXPECT_TRUE(std::isinf(r->conviction) && r->conviction > 0);
}

TEST(AssociationRules, MultiItemConsequentsAndConstraints) {
    crm::RuleOptions o;
    o.min_confidence = 0.5;
    o.multi_item_consequents = true;
    const auto sets = small_itemsets();
    const auto rules = crm::association_rules(sets, o);
    const auto* m = find_rule(rules, {0}, {1, 2});
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->consequent_count, 3);
    EXPECT_DOUBLE_EQ(m->confidence, 0.5);
    EXPECT_DOUBLE_EQ(m->lift, 0.5 * 7 / 3);
    EXPECT_EQ(find_rule(rules, {}, {0, 1, 2}), nullptr);  // 2/7

    // At 0.6 no consequent of two items passes: the same rules as single mode.
    o.min_confidence = 0.6;
    EXPECT_EQ(crm::association_rules(sets, o).size(), 9u);

    // Only rules whose consequent is item 2.
    crm::RuleOptions only;
    only.min_confidence = 0.6;
    only.consequent.allowed = Items{2};
    const auto to_two = crm::association_rules(sets, only);
    ASSERT_EQ(to_two.size(), 3u);
    for (const auto& r : to_two) EXPECT_EQ(r.consequent, Items{2});
    // Antecedents holding item 0 and nothing but items 0 and 1.
    crm::RuleOptions lhs;
    lhs.min_confidence = 0.6;
    lhs.antecedent.required = {0};
    lhs.antecedent.allowed = Items{0, 1};
    const auto with_zero = crm::association_rules(sets, lhs);
    ASSERT_EQ(with_zero.size(), 3u);  // {0}=>{1}, {0}=>{2}, {0,1}=>{2}
    EXPECT_NE(find_rule(with_zero, {0, 1}, {2}), nullptr);
    // Lift filter: only the 1.3125 pair rules pass 1.2.
    crm::RuleOptions lifted;
    lifted.min_confidence = 0.0;
    lifted.min_lift = 1.2;
    lifted.min_len = 2;
    EXPECT_EQ(crm::association_rules(sets, lifted).size(), 6u);
}

TEST(AssociationRules, LimitsAndBadOptions) {
    const auto sets = small_itemsets();
    crm::RuleOptions o;
    o.min_confidence = 0.6;
    o.max_rules = 8;
    EXPECT_ERROR_KIND((void)crm::association_rules(sets, o), crm::ErrorKind::ProgramLimitExceeded);
    o.max_rules = 9;
    EXPECT_EQ(crm::association_rules(sets, o).size(), 9u);
    o.max_len = 2;
    EXPECT_EQ(crm::association_rules(sets, o).size(), 6u);
    crm::RuleOptions bad;
    bad.min_confidence = 1.5;
    EXPECT_ERROR_KIND((void)crm::association_rules(sets, bad), crm::ErrorKind::InvalidParameter);
    bad.min_confidence = 0.5;
    bad.min_lift = std::nan("");
    EXPECT_ERROR_KIND((void)crm::association_rules(sets, bad), crm::ErrorKind::InvalidParameter);
    bad.min_lift = 0;
    bad.min_len = 3;
    bad.max_len = 2;
    EXPECT_ERROR_KIND((void)crm::association_rules(sets, bad), crm::ErrorKind::InvalidParameter);
}

// Every rule of every itemset, by brute force over subsets, against the miner.
TEST(AssociationRules, RandomRulesMatchBruteForce) {
    std::mt19937_64 rng(11);
    crm::TransactionBuilder b;
    for (int k = 0; k < 300; ++k) {
        std::vector<std::int64_t> basket;
        const int s = static_cast<int>(rng() % 7);
        for (int i = 0; i < s; ++i) basket.push_back(static_cast<std::int64_t>(rng() % (3 + rng() % 9)));
        if (rng() % 4 == 0) basket.insert(basket.end(), {20, 21, 22});
        b.add_basket(basket);
    }
    const auto t = b.finish();
    crm::FpGrowthOptions fo;
    fo.min_count = 6;
    const auto sets = crm::mine_frequent_itemsets(t, fo);
    const double n = static_cast<double>(t.basket_count());
    for (const bool multi : {false, true}) {
        crm::RuleOptions o;
        o.min_confidence = 0.3;
        o.multi_item_consequents = multi;
        const auto rules = crm::association_rules(sets, o);
        std::map<std::pair<Items, Items>, double> expected;
        for (std::size_t i = 0; i < sets.size(); ++i) {
            const Items items(sets.begin(i), sets.end(i));
            const std::size_t k = items.size();
            for (std::uint32_t mask = 1; mask < (1u << k); ++mask) {
                if (!multi && __builtin_popcount(mask) != 1) continue;
                Items a, c;
                for (std::size_t p = 0; p < k; ++p) (mask >> p & 1u ? c : a).push_back(items[p]);
                const double conf = static_cast<double>(sets.count(i)) /
                                    static_cast<double>(sets.find_count(a.data(), a.size()));
                if (conf >= 0.3 - 1e-12) expected[{a, c}] = conf;
            }
        }
        ASSERT_EQ(rules.size(), expected.size()) << "multi " << multi;
        for (const auto& r : rules) {
            const auto it = expected.find({r.antecedent, r.consequent});
            ASSERT_NE(it, expected.end());
            EXPECT_DOUBLE_EQ(r.confidence, it->second);
            EXPECT_DOUBLE_EQ(r.lift, r.confidence * n / static_cast<double>(r.consequent_count));
            EXPECT_EQ(r.consequent_count, sets.find_count(r.consequent.data(), r.consequent.size()));
        }
    }
}

crm::AssociationRule rule(Items a, Items c, double confidence, double lift) {
    crm::AssociationRule r;
    r.antecedent = std::move(a);
    r.consequent = std::move(c);
    r.confidence = confidence;
    r.lift = lift;
    return r;
}

TEST(CartSuggestions, BestRuleRanksTheItems) {
    const std::vector<crm::AssociationRule> rules = {
        rule({1}, {5}, 0.6, 2.0),     // 0
        rule({1, 2}, {5}, 0.9, 1.5),  // 1: a better reason for 5
        rule({1}, {6}, 0.9, 3.0),     // 2: same confidence as 1, higher lift
        rule({3}, {7}, 0.99, 9.0),    // 3: antecedent not in the cart
        rule({1}, {2}, 0.95, 4.0),    // 4: consequent already in the cart
        rule({}, {8}, 0.9, 3.0),      // 5: empty antecedent, ties rule 2: item id decides
        rule({2}, {9, 5}, 0.5, 1.0),  // 6: multi-item consequent
    };
    const auto s = crm::suggest_for_cart(rules, {2, 1, 2}, 10);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[0].item, 6u);
    EXPECT_EQ(s[0].rule, 2u);
    EXPECT_EQ(s[1].item, 8u);
    EXPECT_EQ(s[2].item, 5u);
    EXPECT_EQ(s[2].rule, 1u);
    EXPECT_DOUBLE_EQ(s[2].confidence, 0.9);
    EXPECT_EQ(s[3].item, 9u);
    EXPECT_EQ(crm::suggest_for_cart(rules, {2, 1}, 2).size(), 2u);
    EXPECT_TRUE(crm::suggest_for_cart(rules, {}, 0).empty());
    const auto empty_cart = crm::suggest_for_cart(rules, {}, 5);
    ASSERT_EQ(empty_cart.size(), 1u);  // only the empty-antecedent rule matches
    EXPECT_EQ(empty_cart[0].item, 8u);
}

}  // namespace
