#include "clv_purchases.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "byte_io.hpp"
#include "errors.hpp"

namespace crm::clv {

namespace {
constexpr std::uint8_t kVersion = 1;
}  // namespace

void validate_summary(double x, double t_x, double T) {
    if (!(x >= 0) || x != std::floor(x) || x > 9007199254740992.0)
        throw_invalid("frequency must be a whole number >= 0, got " + std::to_string(x));
    if (!(t_x >= 0)) throw_invalid("recency must not be negative, got " + std::to_string(t_x));
    if (!(T >= 0)) throw_invalid("age must not be negative, got " + std::to_string(T));
    if (t_x > T)
        throw_invalid("recency (" + std::to_string(t_x) + ") must not exceed age (" + std::to_string(T) + ")",
                      "Recency is the time from the first to the last purchase, age from the first purchase to as_of.");
    if (x == 0 && t_x != 0) throw_invalid("recency must be 0 for a customer without repeat purchases");
}

void validate_spend(double x, double m) {
    if (!(x >= 0) || x != std::floor(x)) throw_invalid("frequency must be a whole number >= 0, got " + std::to_string(x));
    if (x > 0 && !(m > 0)) throw_invalid("monetary must be > 0 for a customer with repeat purchases, got " + std::to_string(m));
    if (!(m >= 0)) throw_invalid("monetary must not be negative, got " + std::to_string(m));
}

TimeUnit parse_time_unit(const char* name) {
    if (std::strcmp(name, "day") == 0) return TimeUnit::Day;
    if (std::strcmp(name, "week") == 0) return TimeUnit::Week;
    throw_invalid(std::string("time_unit must be day or week, got \"") + name + "\"");
}

const char* time_unit_name(TimeUnit unit) { return unit == TimeUnit::Day ? "day" : "week"; }

void PurchaseHistory::set_parameters(std::int64_t as_of, TimeUnit unit) {
    if (!has_parameters_) {
        as_of_ = as_of;
        unit_ = unit;
        has_parameters_ = true;
        return;
    }
    if (as_of != as_of_) throw_invalid("as_of must be the same on every row of a customer");
    if (unit != unit_) throw_invalid("time_unit must be the same on every row of a customer");
}

void PurchaseHistory::add(std::int64_t day, double amount) {
    if (!std::isfinite(amount) || amount < 0)
        throw_invalid("amount must be a finite number >= 0, got " + std::to_string(amount),
                      "Net refunds against their orders first: a negative day total has no meaning in the spend model.");
    days_.push_back(day);
    amounts_.push_back(amount);
}

void PurchaseHistory::merge(const PurchaseHistory& other) {
    if (other.has_parameters_) set_parameters(other.as_of_, other.unit_);
    days_.insert(days_.end(), other.days_.begin(), other.days_.end());
    amounts_.insert(amounts_.end(), other.amounts_.begin(), other.amounts_.end());
}

std::optional<CustomerSummary> PurchaseHistory::summary() const {
    std::vector<Purchase> purchases(days_.size());
    for (std::size_t i = 0; i < days_.size(); ++i) purchases[i] = {days_[i], amounts_[i]};
    return summarize_customer(purchases.data(), purchases.size(), as_of_, unit_);
}

std::vector<std::uint8_t> PurchaseHistory::serialize() const {
    ByteWriter w(tags::purchase_history, kVersion);
    w.u8(has_parameters_ ? 1 : 0);
    w.i64(as_of_);
    w.u8(unit_ == TimeUnit::Day ? 0 : 1);
    w.u64(days_.size());
    for (std::size_t i = 0; i < days_.size(); ++i) {
        w.i64(days_[i]);
        w.f64(amounts_[i]);
    }
    return w.take();
}

PurchaseHistory PurchaseHistory::deserialize(const std::uint8_t* data, std::size_t size) {
    const char* what = "crm.customer_summary state";
    ByteReader r(data, size, tags::purchase_history, kVersion, what);
    PurchaseHistory h;
    const std::uint8_t flag = r.u8();
    h.as_of_ = r.i64();
    const std::uint8_t unit = r.u8();
    if (flag > 1 || unit > 1) throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: bad flag");
    h.has_parameters_ = flag == 1;
    h.unit_ = unit == 0 ? TimeUnit::Day : TimeUnit::Week;
    const std::uint64_t n = r.u64();
    if (n > size / 16) throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: bad length");
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::int64_t day = r.i64();
        const double amount = r.f64();
        if (!std::isfinite(amount) || amount < 0)
            throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: bad amount");
        h.days_.push_back(day);
        h.amounts_.push_back(amount);
    }
    r.expect_end();
    return h;
}

}  // namespace crm::clv
