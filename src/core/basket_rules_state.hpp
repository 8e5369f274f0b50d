// The state of the crm.association_rules_agg aggregate: the (basket, item)
// rows of one group (a TransactionBuilder) and the aggregate's thresholds,
// which must be the same on every row; mergeable for parallel workers and
// _partial / _combine pairs. rules() mines the group at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "association_rules.hpp"
#include "basket_transactions.hpp"

namespace crm {

class BasketRulesState {
public:
    explicit BasketRulesState(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : builder_(memory) {}

    // The first row fixes the thresholds (support in (0, 1], confidence in
    // [0, 1]: 22023 otherwise); a later row with others is 22023.
    void set_thresholds(double min_support, double min_confidence);
    void add(std::int64_t basket, std::int64_t item) { builder_.add(basket, item); }
    void add_basket(const std::int64_t* items, std::size_t n) { builder_.add_basket(items, n); }
    void merge(const BasketRulesState& other);

    std::size_t memory_bytes() const { return sizeof(*this) + builder_.memory_bytes(); }

    // The group's rules, as crm.association_rules makes them (single-item
    // consequents, empty antecedents included), within the memory limit and
    // at most max_rules. Item keys in the rules are dense ids: item_key()
    // gives the key. Consumes the rows.
    struct Result {
        Transactions baskets;
        std::vector<AssociationRule> rules;
    };
    Result rules(std::size_t memory_limit_bytes, std::size_t max_rules);

    std::vector<std::uint8_t> serialize() const;
    static BasketRulesState deserialize(const std::uint8_t* data, std::size_t size);

private:
    bool has_thresholds_ = false;
    double min_support_ = 0.0;
    double min_confidence_ = 0.0;
    TransactionBuilder builder_;
};

}  // namespace crm
