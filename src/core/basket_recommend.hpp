// "Frequently bought together": items to add to a cart, from association rules.
#pragma once

#include <cstddef>
#include <vector>

#include "association_rules.hpp"

namespace crm {

struct CartSuggestion {
    ItemId item = 0;
    double confidence = 0.0;  // of the best matching rule
    double lift = 0.0;        // of that rule
    std::size_t rule = 0;     // its index in the rule vector
};

// The top_n items to add to `cart` (dense ids, any order, repeats ignored).
// A rule matches when its antecedent is a subset of the cart and its
// consequent is not wholly in the cart; each consequent item not in the cart
// is a candidate. A candidate's score is its best matching rule: highest
// confidence, then highest lift, then lowest rule index. Candidates are
// ranked by that confidence (descending), then lift (descending), then item id
// (ascending), so the order is total and deterministic. Rules with an empty
// antecedent match every cart (the most popular items, when they were kept).
// Interruptible; throws nothing else.
std::vector<CartSuggestion> suggest_for_cart(const std::vector<AssociationRule>& rules,
                                             const std::vector<ItemId>& cart, std::size_t top_n);

}  // namespace crm
