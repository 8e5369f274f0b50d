#include "rfm.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>

#include "byte_io.hpp"
#include "errors.hpp"
#include "flat_index.hpp"
#include "hash_mix.hpp"
#include "interrupts.hpp"
#include "quantile.hpp"

namespace crm {

namespace {

// Version 2 writes each measure raw or as (value, count) runs (version 1: raw arrays).
constexpr std::uint8_t kSampleVersion = 2;
constexpr std::uint8_t kSampleVersionRawOnly = 1;
constexpr std::uint8_t kMeasureRaw = 0, kMeasureRuns = 1;
// A partial state never expands past this many values: a corrupted count is
// 22P03 rather than an attempt at an absurd allocation.
constexpr std::uint64_t kMaxExpandedValues = std::uint64_t{1} << 32;

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

namespace {

std::uint64_t bits_of(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

// Whether a measure repeats values enough for runs to pay (fewer than a
// third as many distinct values as values), judged by a HyperLogLog estimate
// of the distinct count (1,024 registers, about 3% error) in one cheap pass,
// so a measure of distinct values is not sorted for nothing.
bool worth_runs(const std::pmr::vector<double>& v) {
    constexpr int kBits = 10;
    constexpr std::size_t kRegisters = std::size_t{1} << kBits;
    if (v.size() < 4 * kRegisters) return false;
    std::array<std::uint8_t, kRegisters> registers{};
    for (const double x : v) {
        const std::uint64_t h = mix64(bits_of(x));
        const std::size_t reg = static_cast<std::size_t>(h >> (64 - kBits));
        const std::uint64_t rest = (h << kBits) | (std::uint64_t{1} << (kBits - 1));  // never all zero
        const auto rank = static_cast<std::uint8_t>(__builtin_clzll(rest) + 1);
        registers[reg] = std::max(registers[reg], rank);
    }
    double sum = 0.0;
    std::size_t zeros = 0;
    for (const std::uint8_t r : registers) {
        sum += std::ldexp(1.0, -r);
        zeros += r == 0;
    }
    const double m = static_cast<double>(kRegisters);
    double estimate = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
    if (estimate < 2.5 * m && zeros > 0) estimate = m * std::log(m / static_cast<double>(zeros));  // linear counting
    return estimate * 3.0 < static_cast<double>(v.size());
}

// One measure: raw, or (value, count) runs. Partial states of parallel
// workers go through here: recency days and order counts repeat a lot, so the
// leader receives a few thousand runs instead of millions of values. Only the
// quantiles are read from a merged sample, so the order of values is free.
void write_measure(ByteWriter& w, const std::pmr::vector<double>& v) {
    if (worth_runs(v)) {
        // Counted in a flat hash index of the values' bit patterns: one pass, no sort.
        FlatIndex<std::int64_t, Int64KeyHash> distinct;
        std::vector<std::uint64_t> counts;
        InterruptTicker ticker(1 << 16);
        for (const double x : v) {
            bool added;
            const std::uint32_t i = distinct.find_or_add(static_cast<std::int64_t>(bits_of(x)), &added);
            if (added) counts.push_back(0);
            ++counts[i];
            ticker.tick();
        }
        if (distinct.size() * 2 < v.size()) {
            w.u8(kMeasureRuns);
            w.u64(v.size());
            w.u64(distinct.size());
            for (std::size_t i = 0; i < distinct.size(); ++i) {
                w.u64(static_cast<std::uint64_t>(distinct.keys()[i]));  // the value's bits, as f64 writes them
                w.u64(counts[i]);
            }
            return;
        }
    }
    w.u8(kMeasureRaw);
    w.f64s(v);
}

template <class Vector>
void read_measure(ByteReader& r, Vector& out) {
    if (r.version() == kSampleVersionRawOnly) {
        r.f64s_into(out);
        return;
    }
    const std::uint8_t kind = r.u8();
    if (kind == kMeasureRaw) {
        r.f64s_into(out);
        return;
    }
    if (kind != kMeasureRuns) throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: bad measure");
    const std::uint64_t total = r.u64(), n_runs = r.u64();
    if (total > kMaxExpandedValues || n_runs > total)
        throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: bad run counts");
    out.clear();
    for (std::uint64_t i = 0; i < n_runs; ++i) {
        const double value = r.f64();
        const std::uint64_t count = r.u64();
        if (count == 0 || count > total - out.size() || !std::isfinite(value))
            throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: bad run");
        out.insert(out.end(), static_cast<std::size_t>(count), value);
    }
    if (out.size() != total) throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: run counts");
}

}  // namespace

std::vector<std::uint8_t> RfmSample::serialize() const {
    ByteWriter w(tags::rfm_sample, kSampleVersion);
    write_measure(w, recency_);
    write_measure(w, frequency_);
    write_measure(w, monetary_);
    return w.take();
}

void RfmSample::serialize_into(ByteWriter& w) const {
    // The bytes of serialize(), nested as w.blob() would nest them.
    const std::size_t at = w.begin_blob();
    w.u8(tags::rfm_sample);
    w.u8(kSampleVersion);
    write_measure(w, recency_);
    write_measure(w, frequency_);
    write_measure(w, monetary_);
    w.end_blob(at);
}

RfmSample RfmSample::deserialize(const std::uint8_t* data, std::size_t size, std::pmr::memory_resource* memory) {
    ByteReader r(data, size, tags::rfm_sample, kSampleVersion, "RFM aggregate state");
    RfmSample s(memory);
    read_measure(r, s.recency_);
    read_measure(r, s.frequency_);
    read_measure(r, s.monetary_);
    r.expect_end();
    if (s.frequency_.size() != s.recency_.size() || s.monetary_.size() != s.recency_.size())
        throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: column lengths differ");
    return s;
}

int agree_on_bins(int current, int incoming) {
    if (current == 0) {
        check_rfm_bins(incoming);
        return incoming;
    }
    if (incoming != current)
        throw_invalid("bins must be the same on every row, got " + std::to_string(current) + " and " +
                      std::to_string(incoming));
    return current;
}

void RfmAccumulator::add(int row_bins, double recency_days, double frequency, double monetary) {
    bins = agree_on_bins(bins, row_bins);
    sample.add(recency_days, frequency, monetary);
}

void RfmAccumulator::merge(const RfmAccumulator& other) {
    if (other.bins == 0) return;
    bins = agree_on_bins(bins, other.bins);
    sample.merge(other.sample);
}

std::vector<std::uint8_t> RfmAccumulator::serialize() const {
    ByteWriter w(tags::rfm_accumulator, kSampleVersion);
    w.u32(static_cast<std::uint32_t>(bins));
    sample.serialize_into(w);
    return w.take();
}

RfmAccumulator RfmAccumulator::deserialize(const std::uint8_t* data, std::size_t size,
                                           std::pmr::memory_resource* memory) {
    ByteReader r(data, size, tags::rfm_accumulator, kSampleVersion, "RFM aggregate state");
    RfmAccumulator acc(memory);
    acc.bins = static_cast<int>(r.u32());
    if (acc.bins != 0) check_rfm_bins(acc.bins);
    const std::uint64_t n = r.u64();
    if (n != size - 2 - 4 - 8)
        throw Error(ErrorKind::InvalidBinary, "invalid RFM aggregate state value: wrong inner length");
    acc.sample = RfmSample::deserialize(data + 14, static_cast<std::size_t>(n), memory);
    return acc;
}

}  // namespace crm
