// State of the crm.binary_metrics aggregate: every (score, label) pair, since
// the AUC needs them all, plus the threshold for accuracy, precision and
// recall. Mergeable and serialisable for parallel plans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <vector>

namespace crm {

struct BinaryMetrics {
    std::int64_t rows = 0;
    std::int64_t positives = 0;
    double auc, log_loss, accuracy, precision, recall;  // NaN when undefined
};

class BinaryMetricsState {
public:
    explicit BinaryMetricsState(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : scores_(memory), labels_(memory) {}

    // A score must be a probability: finite and in [0, 1] (22023).
    void add(double score, bool label);
    // The threshold (0 <= t <= 1, 22023 otherwise) must be the same on every row.
    void set_threshold(double threshold);
    void merge(const BinaryMetricsState& other);
    std::size_t size() const { return scores_.size(); }
    std::size_t memory_bytes() const;

    // AUC (ties count one half) and log-loss (scores clipped to [1e-15, 1 - 1e-15]);
    // a row is predicted true when its score is above the threshold (0.5 by
    // default: scikit-learn's predict). Precision is NaN without predicted
    // trues, recall without true labels; everything is NaN for no rows.
    BinaryMetrics result() const;

    std::vector<std::uint8_t> serialize() const;
    static BinaryMetricsState deserialize(const std::uint8_t* data, std::size_t size);

private:
    std::pmr::vector<double> scores_;
    std::pmr::vector<std::uint8_t> labels_;
    double threshold_ = 0.5;
    bool has_threshold_ = false;
};

}  // namespace crm
