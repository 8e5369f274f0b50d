// The whole rule set of arules' apriori on Groceries (support 0.001,
// confidence 0.8: 410 rules) against ../shared/data/groceries. Skipped when
// the data are absent; CRM_SHARED_DIR overrides the shared folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "association_rules.hpp"
#include "basket_transactions.hpp"
#include "fpgrowth.hpp"

#ifndef CRM_SHARED_DIR_DEFAULT
#define CRM_SHARED_DIR_DEFAULT "../shared"
#endif

namespace {

std::string shared_dir() {
    const char* env = std::getenv("CRM_SHARED_DIR");
    return env && *env ? env : CRM_SHARED_DIR_DEFAULT;
}

// Splits on `sep`, keeping every byte (labels have trailing blanks).
std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream in(s);
    while (std::getline(in, field, sep)) out.push_back(field);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

// One CSV line of the reference: quoted text fields without embedded quotes,
// unquoted numbers.
std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i <= line.size()) {
        std::string field;
        if (i < line.size() && line[i] == '"') {
            const std::size_t close = line.find('"', i + 1);
            field = line.substr(i + 1, close - i - 1);
            i = close + 1;
        } else {
            const std::size_t comma = std::min(line.find(',', i), line.size());
            field = line.substr(i, comma - i);
            i = comma;
        }
        out.push_back(field);
        ++i;  // the comma
    }
    return out;
}

struct RefRule {
    std::int64_t count;
    double support, confidence, coverage, lift;
};

std::string rule_key(std::vector<std::string> lhs, const std::string& rhs) {
    std::sort(lhs.begin(), lhs.end());
    std::string key;
    for (const auto& l : lhs) key += l + "|";
    return key + "=>" + rhs;
}

TEST(GroceriesRules, MatchArulesApriori) {
    const std::string dir = shared_dir() + "/data/groceries/";
    std::ifstream baskets_file(dir + "groceries.csv", std::ios::binary);
    std::ifstream rules_file(dir + "arules_rules_s0.001_c0.8.csv", std::ios::binary);
    if (!baskets_file || !rules_file) GTEST_SKIP() << "no Groceries data under " << dir;

    // Labels get int64 keys in order of first appearance, as an adapter might.
    std::map<std::string, std::int64_t> key_of;
    std::vector<std::string> label_of;
    crm::TransactionBuilder builder;
    std::string line;
    while (std::getline(baskets_file, line)) {
        std::vector<std::int64_t> basket;
        for (const auto& label : split(line, ',')) {
            const auto [it, added] = key_of.emplace(label, static_cast<std::int64_t>(label_of.size()));
            if (added) label_of.push_back(label);
            basket.push_back(it->second);
        }
        builder.add_basket(basket);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto baskets = builder.finish();
    ASSERT_EQ(baskets.basket_count(), 9835u);
    ASSERT_EQ(baskets.item_count(), 169u);
    ASSERT_EQ(baskets.pair_count(), 43367u);

    crm::FpGrowthOptions fo;
    fo.min_count = crm::min_count_for_support(0.001, static_cast<std::int64_t>(baskets.basket_count()));
    ASSERT_EQ(fo.min_count, 10);
    fo.max_len = 10;
    const auto t1 = std::chrono::steady_clock::now();
    const auto sets = crm::mine_frequent_itemsets(baskets, fo);
    const auto t2 = std::chrono::steady_clock::now();
    crm::RuleOptions ro;
    ro.min_confidence = 0.8;
    ro.max_len = 10;
    const auto rules = crm::association_rules(sets, ro);
    const auto t3 = std::chrono::steady_clock::now();
    const auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    std::cout << "Groceries: " << sets.size() << " frequent itemsets, " << rules.size() << " rules; finish "
              << ms(t0, t1) << " ms, FP-growth " << ms(t1, t2) << " ms (peak " << sets.peak_memory_bytes()
              << " bytes), rules " << ms(t2, t3) << " ms\n";

    std::map<std::string, RefRule> expected;
    std::getline(rules_file, line);
    ASSERT_EQ(line, "\"LHS\",\"RHS\",\"support\",\"confidence\",\"coverage\",\"lift\",\"count\"");
    while (std::getline(rules_file, line)) {
        const auto f = csv_fields(line);
        ASSERT_EQ(f.size(), 7u) << line;
        const RefRule r{std::stoll(f[6]), std::stod(f[2]), std::stod(f[3]), std::stod(f[4]), std::stod(f[5])};
        ASSERT_TRUE(expected.emplace(rule_key(split(f[0], '|'), f[1]), r).second) << "repeated rule " << line;
    }
    ASSERT_EQ(expected.size(), 410u);

    std::map<std::size_t, int> by_length;
    ASSERT_EQ(rules.size(), expected.size());
    for (const auto& r : rules) {
        std::vector<std::string> lhs;
        for (const auto id : r.antecedent) lhs.push_back(label_of[baskets.item_key(id)]);
        ASSERT_EQ(r.consequent.size(), 1u);
        const std::string key = rule_key(lhs, label_of[baskets.item_key(r.consequent[0])]);
        const auto it = expected.find(key);
        ASSERT_NE(it, expected.end()) << "not an arules rule: " << key;
        EXPECT_EQ(r.count, it->second.count) << key;
        EXPECT_NEAR(r.support, it->second.support, 1e-12) << key;
        EXPECT_NEAR(r.confidence, it->second.confidence, 1e-12) << key;
        EXPECT_NEAR(r.coverage, it->second.coverage, 1e-12) << key;
        EXPECT_NEAR(r.lift, it->second.lift, 1e-12) << key;
        ++by_length[r.antecedent.size() + 1];
        expected.erase(it);  // each reference rule matched once
    }
    EXPECT_TRUE(expected.empty());
    // The published length distribution.
    EXPECT_EQ(by_length, (std::map<std::size_t, int>{{3, 29}, {4, 229}, {5, 140}, {6, 12}}));
}

}  // namespace
