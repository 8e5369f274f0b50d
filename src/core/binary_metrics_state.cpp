#include "binary_metrics_state.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "byte_io.hpp"
#include "errors.hpp"
#include "tree_metrics.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kVersion = 1;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

void BinaryMetricsState::add(double score, bool label) {
    if (!(std::isfinite(score) && score >= 0.0 && score <= 1.0))
        throw_invalid("binary_metrics: a score must be a probability in [0, 1], got " + std::to_string(score));
    scores_.push_back(score);
    labels_.push_back(label ? 1 : 0);
}

void BinaryMetricsState::set_threshold(double threshold) {
    if (!(std::isfinite(threshold) && threshold >= 0.0 && threshold <= 1.0))
        throw_invalid("binary_metrics: threshold must be in [0, 1], got " + std::to_string(threshold));
    if (has_threshold_ && threshold != threshold_) throw_invalid("binary_metrics: the threshold must be the same on every row");
    threshold_ = threshold;
    has_threshold_ = true;
}

void BinaryMetricsState::merge(const BinaryMetricsState& other) {
    if (other.has_threshold_) set_threshold(other.threshold_);
    scores_.insert(scores_.end(), other.scores_.begin(), other.scores_.end());
    labels_.insert(labels_.end(), other.labels_.begin(), other.labels_.end());
}

std::size_t BinaryMetricsState::memory_bytes() const {
    return sizeof(*this) + scores_.capacity() * sizeof(double) + labels_.capacity();
}

BinaryMetrics BinaryMetricsState::result() const {
    BinaryMetrics m{};
    m.rows = static_cast<std::int64_t>(scores_.size());
    std::vector<double> score(scores_.begin(), scores_.end());
    std::vector<bool> label(labels_.size());
    std::int64_t tp = 0, fp = 0;
    for (std::size_t i = 0; i < labels_.size(); ++i) {
        label[i] = labels_[i] != 0;
        m.positives += labels_[i];
        if (score[i] > threshold_) (label[i] ? tp : fp)++;
    }
    if (m.rows == 0) {
        m.auc = m.log_loss = m.accuracy = m.precision = m.recall = kNaN;
        return m;
    }
    m.auc = roc_auc(score, label);
    m.log_loss = log_loss(score, label);
    m.accuracy = accuracy(score, label, threshold_);
    m.precision = tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : kNaN;
    m.recall = m.positives > 0 ? static_cast<double>(tp) / static_cast<double>(m.positives) : kNaN;
    return m;
}

std::vector<std::uint8_t> BinaryMetricsState::serialize() const {
    ByteWriter w(tags::binary_metrics_state, kVersion);
    w.u8(has_threshold_ ? 1 : 0);
    w.f64(threshold_);
    w.f64s(scores_);
    w.u64(labels_.size());
    for (const std::uint8_t l : labels_) w.u8(l);
    return w.take();
}

BinaryMetricsState BinaryMetricsState::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::binary_metrics_state, kVersion, "crm.binary_metrics state");
    const auto bad = [](const char* why) {
        throw Error(ErrorKind::InvalidBinary, std::string("invalid crm.binary_metrics state value: ") + why);
    };
    BinaryMetricsState s;
    const std::uint8_t has = r.u8();
    if (has > 1) bad("bad flag");
    const double threshold = r.f64();
    if (has == 1) s.set_threshold(threshold);
    const std::vector<double> scores = r.f64s();
    const std::uint64_t n = r.u64();
    if (n != scores.size()) bad("scores and labels differ in number");
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint8_t l = r.u8();
        if (l > 1) bad("a label that is neither 0 nor 1");
        if (!(std::isfinite(scores[i]) && scores[i] >= 0 && scores[i] <= 1)) bad("a score outside [0, 1]");
        s.scores_.push_back(scores[i]);
        s.labels_.push_back(l);
    }
    r.expect_end();
    return s;
}

}  // namespace crm
