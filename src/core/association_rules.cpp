#include "association_rules.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

// arules compares confidences with this tolerance (istree.c, EPSILON).
constexpr double kConfidenceTolerance = 1e-12;
constexpr std::size_t kMaxMultiConsequentLength = 20;  // 2^20 consequents per itemset at most

// A side constraint with its lists sorted for binary search.
struct SideCheck {
    bool any_allowed = true;
    std::vector<ItemId> allowed;
    std::vector<ItemId> required;

    explicit SideCheck(const SideConstraint& c) : required(c.required) {
        if (c.allowed) {
            any_allowed = false;
            allowed = *c.allowed;
            std::sort(allowed.begin(), allowed.end());
        }
        std::sort(required.begin(), required.end());
        required.erase(std::unique(required.begin(), required.end()), required.end());
    }
    // `side` is sorted ascending.
    bool accepts(const std::vector<ItemId>& side) const {
        if (!any_allowed)
            for (const ItemId id : side)
                if (!std::binary_search(allowed.begin(), allowed.end(), id)) return false;
        return std::includes(side.begin(), side.end(), required.begin(), required.end());
    }
};

void check_options(const RuleOptions& o) {
    if (!(o.min_confidence >= 0.0 && o.min_confidence <= 1.0))
        throw_invalid("the minimum confidence must be between 0 and 1, got " + std::to_string(o.min_confidence));
    if (std::isnan(o.min_lift)) throw_invalid("the minimum lift must be a number");
    if (o.min_len < 1 || o.max_len < 1)
        throw_invalid("rule lengths must be at least 1, got min_len " + std::to_string(o.min_len) + " and max_len " +
                      std::to_string(o.max_len));
    if (o.min_len > o.max_len)
        throw_invalid("min_len (" + std::to_string(o.min_len) + ") must not exceed max_len (" +
                      std::to_string(o.max_len) + ")");
}

class RuleMaker {
public:
    RuleMaker(const FrequentItemsets& sets, const RuleOptions& options)
        : sets_(sets), options_(options), antecedent_(options.antecedent), consequent_(options.consequent) {}

    // The rule A => C of an itemset with count `count`, if it passes; returns
    // false when its confidence is too low (whatever the constraints say), so
    // that the caller can prune larger consequents.
    bool consider(std::int64_t count, std::vector<ItemId>&& a, std::vector<ItemId>&& c,
                  std::vector<AssociationRule>& out) {
        const std::int64_t a_count = sets_.find_count(a.data(), a.size());
        const std::int64_t c_count = sets_.find_count(c.data(), c.size());
        if (a_count <= 0 || c_count <= 0)
            throw_error(ErrorKind::Internal, "a subset of a frequent itemset is missing from the itemsets");
        // The same expressions as arules, so the measures agree to the last bits.
        const double n = static_cast<double>(sets_.basket_count());
        const double confidence = static_cast<double>(count) / static_cast<double>(a_count);
        if (confidence < options_.min_confidence - kConfidenceTolerance) return false;
        if (!antecedent_.accepts(a) || !consequent_.accepts(c)) return true;
        const double lift = confidence * n / static_cast<double>(c_count);
        if (!(lift >= options_.min_lift)) return true;
        if (out.size() >= options_.max_rules)
            throw_error(ErrorKind::ProgramLimitExceeded, "more than " + std::to_string(options_.max_rules) + " rules",
                        "Raise the minimum confidence or the minimum support.");
        AssociationRule r;
        r.count = count;
        r.antecedent_count = a_count;
        r.consequent_count = c_count;
        r.support = static_cast<double>(count) / n;
        r.coverage = static_cast<double>(a_count) / n;
        r.confidence = confidence;
        r.lift = lift;
        const double c_support = static_cast<double>(c_count) / n;
        r.leverage = r.support - r.coverage * c_support;
        r.conviction = count == a_count ? std::numeric_limits<double>::infinity()
                                        : (1.0 - c_support) / (1.0 - confidence);
        r.antecedent = std::move(a);
        r.consequent = std::move(c);
        out.push_back(std::move(r));
        return true;
    }

private:
    const FrequentItemsets& sets_;
    const RuleOptions& options_;
    SideCheck antecedent_;
    SideCheck consequent_;
};

// The parts of an itemset picked (consequent) and not picked by a bit mask.
void split(const ItemId* items, std::size_t k, std::uint32_t mask, std::vector<ItemId>& a, std::vector<ItemId>& c) {
    a.clear();
    c.clear();
    for (std::size_t p = 0; p < k; ++p) ((mask >> p) & 1u ? c : a).push_back(items[p]);
}

}  // namespace

std::vector<AssociationRule> association_rules(const FrequentItemsets& sets, const RuleOptions& options) {
    check_options(options);
    RuleMaker maker(sets, options);
    InterruptTicker ticker(256);
    std::vector<AssociationRule> rules;
    std::vector<char> failed;
    std::vector<ItemId> a, c;
    for (std::size_t i = 0; i < sets.size(); ++i) {
        ticker.tick();
        const std::size_t k = sets.length(i);
        if (k < static_cast<std::size_t>(options.min_len) || k > static_cast<std::size_t>(options.max_len)) continue;
        const ItemId* items = sets.begin(i);
        if (!options.multi_item_consequents) {
            for (std::size_t p = 0; p < k; ++p) {
                split(items, k, 1u << p, a, c);
                maker.consider(sets.count(i), std::move(a), std::move(c), rules);
            }
            continue;
        }
        if (k > kMaxMultiConsequentLength)
            throw_invalid("multi-item consequents are supported for itemsets of up to " +
                              std::to_string(kMaxMultiConsequentLength) + " items, got one of " + std::to_string(k),
                          "Lower max_len.");
        // Confidence only falls as the consequent grows (its antecedent
        // shrinks, so count(A) grows): a consequent is tried only when every
        // consequent one item smaller passed. Masks grow numerically, so
        // those come first.
        const std::uint32_t full = (1u << k) - 1u;
        failed.assign(std::size_t{full} + 1, 0);
        const std::size_t first_rule = rules.size();
        for (std::uint32_t mask = 1; mask <= full; ++mask) {
            ticker.tick();
            bool pruned = false;
            for (std::uint32_t rest = mask; rest != 0 && !pruned; rest &= rest - 1) {
                const std::uint32_t smaller = mask & ~(rest & (~rest + 1u));
                pruned = smaller != 0 && failed[smaller];
            }
            if (pruned) {
                failed[mask] = 1;
                continue;
            }
            split(items, k, mask, a, c);
            failed[mask] = !maker.consider(sets.count(i), std::move(a), std::move(c), rules);
        }
        std::sort(rules.begin() + static_cast<std::ptrdiff_t>(first_rule), rules.end(),
                  [](const AssociationRule& x, const AssociationRule& y) {
                      if (x.consequent.size() != y.consequent.size())
                          return x.consequent.size() < y.consequent.size();
                      return x.consequent < y.consequent;
                  });
    }
    return rules;
}

}  // namespace crm
