#include "clv_fit_state.hpp"

#include <cmath>
#include <string>

#include "byte_io.hpp"
#include "checked_count.hpp"
#include "errors.hpp"

namespace crm::clv {

namespace {
constexpr std::uint8_t kVersion = 1;
constexpr double kMaxX = 9007199254740992.0;  // 2^53: larger counts are not exact doubles

// The same checks guard add() (kind 22023) and deserialize() (22P03: a stored
// state that fails them was corrupted, not mistyped).
std::int64_t checked_x(double x, ErrorKind kind) {
    if (!(std::isfinite(x) && x >= 0.0 && x <= kMaxX && std::floor(x) == x))
        throw_error(kind, "frequency x must be an integer >= 0, got " + std::to_string(x));
    return static_cast<std::int64_t>(x);
}

void check_times(std::int64_t x, double t_x, double T, ErrorKind kind) {
    if (!std::isfinite(t_x) || !std::isfinite(T))
        throw_error(kind, "recency t_x and age T must be finite");
    if (!(T > 0.0))
        throw_error(kind, "age T must be > 0, got " + std::to_string(T),
                    "A customer whose first purchase is on the as_of day carries no information: filter T > 0.");
    if (!(t_x >= 0.0 && t_x <= T))
        throw_error(kind, "recency t_x must be between 0 and T, got t_x = " + std::to_string(t_x) +
                              ", T = " + std::to_string(T));
    if (x == 0 && t_x != 0.0)
        throw_error(kind, "recency t_x must be 0 when x = 0, got " + std::to_string(t_x));
}

void check_count(std::int64_t count, ErrorKind kind) {
    if (count < 1) throw_error(kind, "row count must be >= 1, got " + std::to_string(count));
}

void check_spend(double m, ErrorKind kind) {
    if (!(std::isfinite(m) && m > 0.0))
        throw_error(kind, "mean spend m must be finite and > 0 when x > 0, got " + std::to_string(m),
                    "Leave out customers whose repeat purchases are all free.");
}
}  // namespace

void PurchaseFitState::insert(const Key& key, std::int64_t count) {
    auto& slot = rows_[key];
    slot = add_counts(slot, count, "customer");
    customers_ = add_counts(customers_, count, "customer");
}

void PurchaseFitState::add(double x, double t_x, double T, std::int64_t count) {
    const std::int64_t ix = checked_x(x, ErrorKind::InvalidParameter);
    check_times(ix, t_x, T, ErrorKind::InvalidParameter);
    check_count(count, ErrorKind::InvalidParameter);
    // + 0.0 turns -0.0 into 0.0, so both land in one row.
    insert(Key{ix, t_x + 0.0, T + 0.0}, count);
}

void PurchaseFitState::merge(const PurchaseFitState& other) {
    for (const auto& [key, count] : other.rows_) insert(key, count);
}

std::vector<RepeatRow> PurchaseFitState::rows() const {
    std::vector<RepeatRow> out;
    out.reserve(rows_.size());
    for (const auto& [key, count] : rows_) out.push_back(RepeatRow{key.x, key.t_x, key.T, count});
    return out;
}

std::vector<std::uint8_t> PurchaseFitState::serialize() const {
    ByteWriter w(tags::clv_fit_state, kVersion);
    w.u64(rows_.size());
    for (const auto& [key, count] : rows_) {
        w.i64(key.x);
        w.f64(key.t_x);
        w.f64(key.T);
        w.i64(count);
    }
    return w.take();
}

PurchaseFitState PurchaseFitState::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::clv_fit_state, kVersion, "purchase fit state");
    const std::uint64_t n = r.u64();
    if (n > size / 32) throw_error(ErrorKind::InvalidBinary, "invalid purchase fit state value: row count exceeds the data");
    PurchaseFitState s;
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::int64_t x = r.i64();
        const double t_x = r.f64();
        const double T = r.f64();
        const std::int64_t count = r.i64();
        checked_x(static_cast<double>(x), ErrorKind::InvalidBinary);
        check_times(x, t_x, T, ErrorKind::InvalidBinary);
        check_count(count, ErrorKind::InvalidBinary);
        s.insert(Key{x, t_x + 0.0, T + 0.0}, count);
    }
    r.expect_end();
    return s;
}

void SpendFitState::insert(std::int64_t x, double m, std::int64_t count) {
    auto& slot = rows_[{x, m + 0.0}];
    slot = add_counts(slot, count, "customer");
    customers_ = add_counts(customers_, count, "customer");
}

void SpendFitState::add(double x, double m, std::int64_t count) {
    const std::int64_t ix = checked_x(x, ErrorKind::InvalidParameter);
    check_count(count, ErrorKind::InvalidParameter);
    if (ix == 0) {
        skipped_ = add_counts(skipped_, count, "skipped customer");
        return;
    }
    check_spend(m, ErrorKind::InvalidParameter);
    insert(ix, m, count);
}

void SpendFitState::merge(const SpendFitState& other) {
    for (const auto& [key, count] : other.rows_) insert(key.first, key.second, count);
    skipped_ = add_counts(skipped_, other.skipped_, "skipped customer");
}

std::vector<SpendRow> SpendFitState::rows() const {
    std::vector<SpendRow> out;
    out.reserve(rows_.size());
    for (const auto& [key, count] : rows_) out.push_back(SpendRow{key.first, key.second, count});
    return out;
}

std::vector<std::uint8_t> SpendFitState::serialize() const {
    ByteWriter w(tags::spend_fit_state, kVersion);
    w.i64(skipped_);
    w.u64(rows_.size());
    for (const auto& [key, count] : rows_) {
        w.i64(key.first);
        w.f64(key.second);
        w.i64(count);
    }
    return w.take();
}

SpendFitState SpendFitState::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::spend_fit_state, kVersion, "spend fit state");
    SpendFitState s;
    s.skipped_ = stored_count(r.i64(), "skipped customer");
    const std::uint64_t n = r.u64();
    if (n > size / 24) throw_error(ErrorKind::InvalidBinary, "invalid spend fit state value: row count exceeds the data");
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::int64_t x = r.i64();
        const double m = r.f64();
        const std::int64_t count = r.i64();
        checked_x(static_cast<double>(x), ErrorKind::InvalidBinary);
        if (x == 0) throw_error(ErrorKind::InvalidBinary, "invalid spend fit state value: a row with x = 0");
        check_spend(m, ErrorKind::InvalidBinary);
        check_count(count, ErrorKind::InvalidBinary);
        s.insert(x, m, count);
    }
    r.expect_end();
    return s;
}

}  // namespace crm::clv
