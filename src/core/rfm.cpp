#include "rfm.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "byte_io.hpp"
#include "errors.hpp"
#include "interrupts.hpp"
#include "quantile.hpp"

namespace crm {

namespace {

constexpr std::uint8_t kSampleVersion = 1;

void check_finite(double v, const char* what) {
    if (!std::isfinite(v))
        throw_invalid(std::string(what) + " must be a finite number, got " +
                      (std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")));
}

// Indices ordered by value (ascending or descending), ties kept in insertion order.
std::vector<std::size_t> rank_order(const std::pmr::vector<double>& values, bool descending) {
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Every rank is needed (NTILE), so the whole column is sorted, cancellably.
    InterruptTicker ticker;
    if (descending)
        std::stable_sort(order.begin(), order.end(),
                         ticking(ticker, [&](std::size_t a, std::size_t b) { return values[a] > values[b]; }));
    else
        std::stable_sort(order.begin(), order.end(),
                         ticking(ticker, [&](std::size_t a, std::size_t b) { return values[a] < values[b]; }));
    check_interrupts();
    return order;
}

}  // namespace

void check_rfm_bins(int bins) {
    if (bins < 2 || bins > 10)
        throw_invalid("bins must be between 2 and 10, got " + std::to_string(bins));
}

RfmScores score_customer(const RfmThresholds& t, double recency_days, double frequency, double monetary) {
    check_finite(recency_days, "recency");
    check_finite(frequency, "frequency");
    check_finite(monetary, "monetary");
    RfmScores s;
    // Recency: fewer days is better, so the bins count down.
    s.r = t.bins + 1 - bin_of(recency_days, t.recency);
    s.f = bin_of(frequency, t.frequency);
    s.m = bin_of(monetary, t.monetary);
    return s;
}

std::string rfm_cell(const RfmScores& s, int bins) {
    if (bins >= 10)
        return std::to_string(s.r) + "-" + std::to_string(s.f) + "-" + std::to_string(s.m);
    std::string cell;
    cell += static_cast<char>('0' + s.r);
    cell += static_cast<char>('0' + s.f);
    cell += static_cast<char>('0' + s.m);
    return cell;
}

void RfmSample::add(double recency_days, double frequency, double monetary) {
    check_finite(recency_days, "recency");
    check_finite(frequency, "frequency");
    check_finite(monetary, "monetary");
    recency_.push_back(recency_days);
    frequency_.push_back(frequency);
    monetary_.push_back(monetary);
}

void RfmSample::reserve(std::size_t n) {
    recency_.reserve(n);
    frequency_.reserve(n);
    monetary_.reserve(n);
}

void RfmSample::merge(const RfmSample& other) {
    recency_.insert(recency_.end(), other.recency_.begin(), other.recency_.end());
    frequency_.insert(frequency_.end(), other.frequency_.begin(), other.frequency_.end());
    monetary_.insert(monetary_.end(), other.monetary_.begin(), other.monetary_.end());
}

RfmThresholds RfmSample::thresholds(int bins) const {
    check_rfm_bins(bins);
    RfmThresholds t;
    t.bins = bins;
    t.customers = static_cast<std::int64_t>(size());
    t.recency = quantile_cut_points(std::vector<double>(recency_.begin(), recency_.end()), bins);
    t.frequency = quantile_cut_points(std::vector<double>(frequency_.begin(), frequency_.end()), bins);
    t.monetary = quantile_cut_points(std::vector<double>(monetary_.begin(), monetary_.end()), bins);
    return t;
}

std::vector<RfmScores> RfmSample::score_all_quantile(int bins) const {
    const RfmThresholds t = thresholds(bins);
    std::vector<RfmScores> scores(size());
    InterruptTicker ticker;
    for (std::size_t i = 0; i < size(); ++i) {
        scores[i] = score_customer(t, recency_[i], frequency_[i], monetary_[i]);
        ticker.tick();
    }
    return scores;
}

std::vector<RfmScores> RfmSample::score_all_ntile(int bins) const {
    check_rfm_bins(bins);
    const std::vector<int> r = ntile(rank_order(recency_, true), bins);
    const std::vector<int> f = ntile(rank_order(frequency_, false), bins);
    const std::vector<int> m = ntile(rank_order(monetary_, false), bins);
    std::vector<RfmScores> scores(size());
    for (std::size_t i = 0; i < size(); ++i) scores[i] = {r[i], f[i], m[i]};
    return scores;
}

std::vector<std::uint8_t> RfmSample::serialize() const {
    ByteWriter w(tags::rfm_sample, kSampleVersion);
    w.f64s(recency_);
    w.f64s(frequency_);
    w.f64s(monetary_);
    return w.take();
}

RfmSample RfmSample::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::rfm_sample, kSampleVersion, "RFM aggregate state");
    RfmSample s;
    const std::vector<double> recency = r.f64s(), frequency = r.f64s(), monetary = r.f64s();
    s.recency_.assign(recency.begin(), recency.end());
    s.frequency_.assign(frequency.begin(), frequency.end());
    s.monetary_.assign(monetary.begin(), monetary.end());
    r.expect_end();
    if (s.frequency_.size() != s.recency_.size() || s.monetary_.size() != s.recency_.size())
        throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: column lengths differ");
    return s;
}

void RfmAccumulator::add(int row_bins, double recency_days, double frequency, double monetary) {
    if (bins == 0) {
        check_rfm_bins(row_bins);
        bins = row_bins;
    } else if (row_bins != bins) {
        throw_invalid("bins must be the same on every row, got " + std::to_string(bins) + " and " +
                      std::to_string(row_bins));
    }
    sample.add(recency_days, frequency, monetary);
}

void RfmAccumulator::merge(const RfmAccumulator& other) {
    if (other.bins == 0) return;
    if (bins == 0) bins = other.bins;
    if (bins != other.bins)
        throw_invalid("bins must be the same on every row, got " + std::to_string(bins) + " and " +
                      std::to_string(other.bins));
    sample.merge(other.sample);
}

std::vector<std::uint8_t> RfmAccumulator::serialize() const {
    ByteWriter w(tags::rfm_accumulator, kSampleVersion);
    w.u32(static_cast<std::uint32_t>(bins));
    w.blob(sample.serialize());
    return w.take();
}

RfmAccumulator RfmAccumulator::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::rfm_accumulator, kSampleVersion, "RFM aggregate state");
    RfmAccumulator acc;
    acc.bins = static_cast<int>(r.u32());
    if (acc.bins != 0) check_rfm_bins(acc.bins);
    const std::uint64_t n = r.u64();
    if (n != size - 2 - 4 - 8)
        throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: wrong inner length");
    acc.sample = RfmSample::deserialize(data + 14, static_cast<std::size_t>(n));
    return acc;
}

}  // namespace crm
