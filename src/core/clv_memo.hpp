// A per-query memo for CLV scoring. Mostly BG/NBD's expected purchases of a live customer,
// F(t | x, T) (bgnbd_expected_purchases_if_alive): each value is a Gauss 2F1
// series of about 75 terms when the horizon is long against alpha + T, and it
// depends on the customer only through the repeat purchases x and the age T.
// In a customer base whose ages are whole days (or weeks), most customers
// share their (x, T) with others, so a query that scores them all (one call
// site of crm.expected_purchases or crm.clv) computes each series once. The
// values are the very ones the series gives: scoring with or without the memo
// returns the same bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "clv_bgnbd.hpp"
#include "flat_index.hpp"

namespace crm::clv {

class ClvScoringMemo {
public:
    // Keys and values remembered at most (then further keys are computed, not
    // kept): with the hash index about 20 MB of the backend's heap at most,
    // made on first use.
    static constexpr std::size_t kMaxKeys = std::size_t{1} << 17;
    static constexpr std::size_t kMaxValues = std::size_t{1} << 19;
    // After this many lookups, a memo that found fewer than a quarter of its
    // keys stops looking (customers whose ages are not whole days share
    // nothing, and then the lookups would only add to the series).
    static constexpr std::uint64_t kTrialLookups = 16384;

    // F(step), F(2 step), ..., F(count step) for (x, T) under p: count values,
    // valid until the next call. A different p forgets what was remembered.
    // Errors as bgnbd_expected_purchases_if_alive.
    const double* expectations(const BgNbdParams& p, double x, double T, double step, int count);

    // The discount factors 1/(1+d), 1/(1+d)^2, ..., 1/(1+d)^months, each the
    // previous one divided by 1 + d (the CLV sum's own sequence), made once
    // per (months, d). Valid until the next call.
    const double* discount_factors(int months, double monthly_discount);

private:
    struct Key {
        std::uint64_t x, T, step;
        std::int64_t count;
        bool operator==(const Key& o) const { return x == o.x && T == o.T && step == o.step && count == o.count; }
    };
    struct KeyHash {
        std::uint64_t operator()(const Key& k) const;
    };
    void reset(const BgNbdParams& p);

    BgNbdParams params_{};
    bool has_params_ = false;
    std::uint64_t lookups_ = 0;
    std::uint64_t hits_ = 0;
    bool given_up_ = false;
    std::unique_ptr<FlatIndex<Key, KeyHash>> index_;  // made on the first lookup
    std::vector<std::size_t> offsets_;  // key number -> first value
    std::vector<double> values_;
    std::vector<double> scratch_;       // a key computed but not remembered
    int discount_months_ = -1;
    double discount_rate_ = 0.0;
    std::vector<double> discounts_;
};

// bgnbd_conditional_expected_purchases(p, t, x, t_x, T) with F taken from
// (and kept in) the memo: the same value.
double bgnbd_conditional_expected_purchases(const BgNbdParams& p, double t, double x, double t_x, double T,
                                            ClvScoringMemo& memo);

}  // namespace crm::clv
