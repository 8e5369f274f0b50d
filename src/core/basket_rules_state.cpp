#include "basket_rules_state.hpp"

#include <cstring>
#include <string>

#include "byte_io.hpp"
#include "errors.hpp"
#include "fpgrowth.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kVersion = 1;

bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
}  // namespace

void BasketRulesState::set_thresholds(double min_support, double min_confidence) {
    if (!has_thresholds_) {
        if (!(min_support > 0 && min_support <= 1))
            throw_invalid("min_support must be in (0, 1], got " + std::to_string(min_support));
        if (!(min_confidence >= 0 && min_confidence <= 1))
            throw_invalid("min_confidence must be in [0, 1], got " + std::to_string(min_confidence));
        min_support_ = min_support;
        min_confidence_ = min_confidence;
        has_thresholds_ = true;
        return;
    }
    if (!same(min_support, min_support_) || !same(min_confidence, min_confidence_))
        throw_invalid("min_support and min_confidence must be the same on every row of a group");
}

void BasketRulesState::merge(const BasketRulesState& other) {
    if (other.has_thresholds_) set_thresholds(other.min_support_, other.min_confidence_);
    builder_.merge(other.builder_);
}

BasketRulesState::Result BasketRulesState::rules(std::size_t memory_limit_bytes, std::size_t max_rules) {
    Result out;
    out.baskets = builder_.finish();
    if (out.baskets.basket_count() == 0) return out;
    FpGrowthOptions o;
    o.min_count = min_count_for_support(min_support_, static_cast<std::int64_t>(out.baskets.basket_count()));
    o.memory_limit_bytes = memory_limit_bytes;
    o.max_itemsets = max_rules * 10;
    const FrequentItemsets sets = mine_frequent_itemsets(out.baskets, o);
    RuleOptions r;
    r.min_confidence = min_confidence_;
    r.max_rules = max_rules;
    out.rules = association_rules(sets, r);
    return out;
}

std::vector<std::uint8_t> BasketRulesState::serialize() const {
    ByteWriter w(tags::basket_rules_state, kVersion);
    w.u8(has_thresholds_ ? 1 : 0);
    w.f64(min_support_);
    w.f64(min_confidence_);
    w.blob(builder_.serialize());
    return w.take();
}

BasketRulesState BasketRulesState::deserialize(const std::uint8_t* data, std::size_t size) {
    const char* what = "crm.association_rules_agg state";
    ByteReader r(data, size, tags::basket_rules_state, kVersion, what);
    BasketRulesState s;
    const std::uint8_t flag = r.u8();
    if (flag > 1) throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: bad flag");
    s.has_thresholds_ = flag == 1;
    s.min_support_ = r.f64();
    s.min_confidence_ = r.f64();
    const std::uint64_t n = r.u64();
    const std::size_t header = 2 + 1 + 8 + 8 + 8;
    if (header > size || n != size - header)
        throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: wrong inner length");
    s.builder_ = TransactionBuilder::deserialize(data + header, static_cast<std::size_t>(n));
    return s;
}

}  // namespace crm
