// The state of the crm.customer_summary aggregate: one customer's purchases
// (day, amount) gathered row by row, mergeable across parallel workers, and
// the summary (clv_summary.hpp) computed from them at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <vector>

#include "clv_summary.hpp"

namespace crm::clv {

// One customer's summary as a scorer takes it: x a whole number >= 0 and
// t_x, T finite with 0 <= t_x <= T and t_x = 0 when x = 0 (22023 otherwise;
// T = 0, a customer first seen at as_of, is allowed for scoring).
void validate_summary(double x, double t_x, double T);
// (x, mean repeat spend m) for the spend model: m > 0 when x > 0 (22023).
void validate_spend(double x, double m);

// "day" or "week" (22023 otherwise).
TimeUnit parse_time_unit(const char* name);
const char* time_unit_name(TimeUnit unit);

class PurchaseHistory {
public:
    explicit PurchaseHistory(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : days_(memory), amounts_(memory) {}

    // The first row fixes as_of and the unit; a later row with others is 22023.
    void set_parameters(std::int64_t as_of, TimeUnit unit);
    // A purchase; a non-finite or negative amount is 22023 (net refunds out first).
    void add(std::int64_t day, double amount);
    void merge(const PurchaseHistory& other);

    bool has_parameters() const { return has_parameters_; }
    std::size_t size() const { return days_.size(); }
    std::size_t memory_bytes() const {
        return sizeof(*this) + days_.capacity() * sizeof(std::int64_t) + amounts_.capacity() * sizeof(double);
    }
    // The summary at as_of; nothing when there is no purchase on or before it.
    std::optional<CustomerSummary> summary() const;

    std::vector<std::uint8_t> serialize() const;
    static PurchaseHistory deserialize(const std::uint8_t* data, std::size_t size);

private:
    bool has_parameters_ = false;
    std::int64_t as_of_ = 0;
    TimeUnit unit_ = TimeUnit::Week;
    std::pmr::vector<std::int64_t> days_;
    std::pmr::vector<double> amounts_;
};

}  // namespace crm::clv
