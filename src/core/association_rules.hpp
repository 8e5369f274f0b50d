// Association rules from frequent itemsets, as arules' apriori makes them.
//
// A rule A => C comes from a frequent itemset I = A u C (A and C disjoint, C
// not empty). Its measures, with n baskets and count(X) the number of baskets
// holding all of X (arules' definitions):
//   support    = count(I) / n
//   coverage   = count(A) / n                  (antecedent support; 1 for A = {})
//   confidence = count(I) / count(A)
//   lift       = confidence * n / count(C)     (arules' expression)
//   leverage   = support - coverage * count(C) / n
//   conviction = (1 - count(C) / n) / (1 - confidence), +infinity when
//                confidence is 1 (count(I) == count(A)): the adapter maps it to
//                NULL or 'Infinity' as it documents.
// Like arules' apriori (minlen 1), rules with an EMPTY antecedent {} => {x} are
// made by default when x's support and confidence (= its support) pass the
// thresholds; min_len = 2 leaves them out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "basket_transactions.hpp"
#include "fpgrowth.hpp"

namespace crm {

// Which items one side of a rule may or must hold (dense ids).
struct SideConstraint {
    std::optional<std::vector<ItemId>> allowed;  // when set, every item of the side is one of these
    std::vector<ItemId> required;                // the side holds all of these
};

struct RuleOptions {
    // Kept when confidence >= min_confidence - 1e-12 (arules' tolerance).
    double min_confidence = 0.8;
    // Kept when lift >= min_lift (0: no filter).
    double min_lift = 0.0;
    // Rule length = |A| + |C|: min_len <= length <= max_len (arules' minlen
    // and maxlen; itemsets longer than the mining's max_len do not exist).
    int min_len = 1;
    int max_len = 10;
    // false: single-item consequents, exactly arules' apriori. true: every
    // non-empty consequent C of I (with A = I \ C) whose confidence passes.
    bool multi_item_consequents = false;
    SideConstraint antecedent;
    SideConstraint consequent;
    // Most rules the result may hold; more: 54000.
    std::size_t max_rules = std::numeric_limits<std::size_t>::max();
};

struct AssociationRule {
    std::vector<ItemId> antecedent;  // ascending dense ids, may be empty
    std::vector<ItemId> consequent;  // ascending dense ids, not empty
    std::int64_t count = 0;              // count(A u C)
    std::int64_t antecedent_count = 0;   // count(A) (n for A = {})
    std::int64_t consequent_count = 0;   // count(C)
    double support = 0.0;
    double confidence = 0.0;
    double lift = 0.0;
    double leverage = 0.0;
    double conviction = 0.0;  // +infinity when confidence is 1
    double coverage = 0.0;
};

// The rules of `itemsets` passing `options`, ordered by the itemset they come
// from (the itemsets' order: length, then items), then by consequent (shorter
// first, then items ascending). Throws 22023 for bad options (confidence
// outside [0, 1], NaN lift, lengths below 1, multi-item consequents from an
// itemset of more than 20 items) and 54000 beyond max_rules (hint: raise
// min_confidence or the minimum support). Interruptible.
std::vector<AssociationRule> association_rules(const FrequentItemsets& itemsets, const RuleOptions& options);

}  // namespace crm
