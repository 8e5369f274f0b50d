#include "basket_recommend.hpp"

#include <algorithm>
#include <unordered_map>

#include "interrupts.hpp"

namespace crm {

std::vector<CartSuggestion> suggest_for_cart(const std::vector<AssociationRule>& rules,
                                             const std::vector<ItemId>& cart, std::size_t top_n) {
    std::vector<ItemId> in_cart(cart);
    std::sort(in_cart.begin(), in_cart.end());
    in_cart.erase(std::unique(in_cart.begin(), in_cart.end()), in_cart.end());
    const auto held = [&in_cart](ItemId id) { return std::binary_search(in_cart.begin(), in_cart.end(), id); };
    // Is suggestion x a better reason than y for the same item?
    const auto better = [](const CartSuggestion& x, const CartSuggestion& y) {
        if (x.confidence != y.confidence) return x.confidence > y.confidence;
        if (x.lift != y.lift) return x.lift > y.lift;
        return x.rule < y.rule;
    };

    InterruptTicker ticker;
    std::unordered_map<ItemId, CartSuggestion> best;
    for (std::size_t r = 0; r < rules.size(); ++r) {
        ticker.tick();
        const AssociationRule& rule = rules[r];
        // Antecedents are ascending, like the cart.
        if (!std::includes(in_cart.begin(), in_cart.end(), rule.antecedent.begin(), rule.antecedent.end())) continue;
        for (const ItemId item : rule.consequent) {
            if (held(item)) continue;
            const CartSuggestion s{item, rule.confidence, rule.lift, r};
            const auto [it, inserted] = best.emplace(item, s);
            if (!inserted && better(s, it->second)) it->second = s;
        }
    }

    std::vector<CartSuggestion> out;
    out.reserve(best.size());
    for (const auto& entry : best) out.push_back(entry.second);
    const auto ranked = [&better](const CartSuggestion& x, const CartSuggestion& y) {
        if (x.confidence != y.confidence || x.lift != y.lift) return better(x, y);
        return x.item < y.item;
    };
    const std::size_t n = std::min(top_n, out.size());
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), ranked);
    out.resize(n);
    return out;
}

}  // namespace crm
