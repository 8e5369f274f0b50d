#include "clv_memo.hpp"

#include <algorithm>
#include <cstring>

#include "clv_math.hpp"
#include "hash_mix.hpp"

namespace crm::clv {

namespace {
std::uint64_t bits(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}
}  // namespace

std::uint64_t ClvScoringMemo::KeyHash::operator()(const Key& k) const {
    return mix64(k.x ^ mix64(k.T ^ mix64(k.step ^ static_cast<std::uint64_t>(k.count))));
}

void ClvScoringMemo::reset(const BgNbdParams& p) {
    params_ = p;
    has_params_ = true;
    lookups_ = hits_ = 0;
    given_up_ = false;
    index_.reset();
    offsets_.clear();
    values_.clear();
}

const double* ClvScoringMemo::expectations(const BgNbdParams& p, double x, double T, double step, int count) {
    if (!has_params_ || p.r != params_.r || p.alpha != params_.alpha || p.a != params_.a || p.b != params_.b)
        reset(p);
    const Key key{bits(x), bits(T), bits(step), count};
    if (!given_up_) {
        ++lookups_;
        if (!index_) index_ = std::make_unique<FlatIndex<Key, KeyHash>>();
        const std::uint32_t found = index_->find(key);
        if (found != FlatIndex<Key, KeyHash>::npos) {
            ++hits_;
            return values_.data() + offsets_[found];
        }
        if (lookups_ >= kTrialLookups && 4 * hits_ < lookups_) {
            given_up_ = true;
            index_.reset();
            std::vector<std::size_t>().swap(offsets_);
            std::vector<double>().swap(values_);
        }
    }
    // Computed in full before anything is remembered, so an error leaves no partial entry.
    scratch_.resize(static_cast<std::size_t>(count));
    for (int i = 1; i <= count; ++i)
        scratch_[static_cast<std::size_t>(i - 1)] = bgnbd_expected_purchases_if_alive(p, step * i, x, T);
    if (given_up_ || index_->size() >= kMaxKeys || values_.size() + scratch_.size() > kMaxValues)
        return scratch_.data();
    // Room first (growing geometrically), the key last: a failed allocation leaves no key without its
    // values.
    if (offsets_.size() == offsets_.capacity()) offsets_.reserve(std::max<std::size_t>(64, 2 * offsets_.capacity()));
    if (values_.size() + scratch_.size() > values_.capacity())
        values_.reserve(std::max(values_.size() + scratch_.size(), 2 * values_.capacity()));
    bool added = false;
    index_->find_or_add(key, &added);
    offsets_.push_back(values_.size());
    values_.insert(values_.end(), scratch_.begin(), scratch_.end());
    return values_.data() + offsets_.back();
}

const double* ClvScoringMemo::discount_factors(int months, double monthly_discount) {
    if (months != discount_months_ || std::memcmp(&monthly_discount, &discount_rate_, sizeof(double)) != 0) {
        discounts_.resize(static_cast<std::size_t>(std::max(months, 0)));
        double discount = 1.0;
        for (int i = 0; i < months; ++i) discounts_[static_cast<std::size_t>(i)] = discount /= 1.0 + monthly_discount;
        discount_months_ = months;
        discount_rate_ = monthly_discount;
    }
    return discounts_.data();
}

double bgnbd_conditional_expected_purchases(const BgNbdParams& p, double t, double x, double t_x, double T,
                                            ClvScoringMemo& memo) {
    detail::check_horizon(t);
    const double alive = bgnbd_probability_alive(p, x, t_x, T);
    return alive * memo.expectations(p, x, T, t, 1)[0];
}

}  // namespace crm::clv
