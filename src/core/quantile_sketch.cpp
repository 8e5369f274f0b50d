#include "quantile_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "errors.hpp"
#include "hash_mix.hpp"
#include "quantile.hpp"

namespace crm {

namespace {
constexpr std::size_t kMinLevelCapacity = 8;
constexpr double kCapacityShrink = 2.0 / 3.0;
constexpr std::uint64_t kCoinSeed = 0x6B6C6C5F736B6574ULL;  // "kll_sket"
// A sketch never needs more levels than there are bits in its count.
constexpr std::size_t kMaxLevels = 64;
// Counts stay far from 2^64, so ranks computed in double arithmetic convert back safely.
constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 62;

void check_k(int k) {
    if (k < QuantileSketch::kMinK || k > QuantileSketch::kMaxK)
        throw_invalid("sketch size k must be between " + std::to_string(QuantileSketch::kMinK) + " and " +
                      std::to_string(QuantileSketch::kMaxK) + ", got " + std::to_string(k));
}
}  // namespace

QuantileSketch::QuantileSketch(int k, std::pmr::memory_resource* memory)
    : k_(k), coin_state_(kCoinSeed), levels_(memory) {
    check_k(k);
}

void QuantileSketch::add_level() {
    if (levels_.size() == kMaxLevels) throw_invalid("quantile sketch has too many levels");
    levels_.emplace_back();
    refresh_capacities();
}

void QuantileSketch::refresh_capacities() {
    // The top level holds k; each level below it 2/3 of the one above, at least 8.
    total_capacity_ = 0;
    const std::size_t n = levels_.size();
    for (std::size_t h = 0; h < n; ++h) {
        const double depth = static_cast<double>(n - 1 - h);
        const double capacity = std::ceil(k_ * std::pow(kCapacityShrink, depth));
        capacity_[h] = static_cast<std::uint32_t>(std::max<double>(kMinLevelCapacity, capacity));
        total_capacity_ += capacity_[h];
    }
}

std::size_t QuantileSketch::memory_bytes() const {
    std::size_t bytes = sizeof(*this) + levels_.capacity() * sizeof(Level);
    for (const Level& level : levels_) bytes += level.capacity() * sizeof(double);
    return bytes;
}

void QuantileSketch::add(double x) {
    if (!std::isfinite(x)) throw_invalid("quantile sketch values must be finite numbers");
    if (levels_.empty()) {
        add_level();
        min_ = max_ = x;
    } else {
        min_ = std::min(min_, x);
        max_ = std::max(max_, x);
    }
    levels_[0].push_back(x);
    ++n_;
    ++retained_;
    if (retained_ > total_capacity_ && levels_[0].size() >= capacity_[0]) compress();
}

void QuantileSketch::compress() {
    while (retained_ > total_capacity_) {
        std::size_t h = 0;
        while (h < levels_.size() && levels_[h].size() < level_capacity(h)) ++h;
        if (h == levels_.size()) return;  // over capacity in total but no level full: cannot happen
        compact(h);
    }
}

void QuantileSketch::compact(std::size_t level) {
    if (level + 1 == levels_.size()) add_level();
    Level& items = levels_[level];
    Level& above = levels_[level + 1];
    std::sort(items.begin(), items.end());
    // An odd count leaves its smallest item behind, unweighted; the rest pair up.
    const std::size_t first = items.size() % 2;
    const std::size_t offset = mix64(coin_state_++) & 1U;
    for (std::size_t i = first + offset; i < items.size(); i += 2) above.push_back(items[i]);
    const std::size_t moved = (items.size() - first) / 2;
    retained_ -= items.size() - first - moved;
    items.resize(first);
}

void QuantileSketch::merge(const QuantileSketch& other) {
    if (other.n_ == 0) return;
    if (&other == this) throw_invalid("a quantile sketch cannot be merged with itself");
    if (other.n_ > kMaxCount || n_ > kMaxCount - other.n_)
        throw_error(ErrorKind::OutOfRange, "quantile sketch count overflows");
    if (n_ == 0) {
        min_ = other.min_;
        max_ = other.max_;
    } else {
        min_ = std::min(min_, other.min_);
        max_ = std::max(max_, other.max_);
    }
    k_ = std::min(k_, other.k_);
    while (levels_.size() < other.levels_.size()) levels_.emplace_back();
    refresh_capacities();
    for (std::size_t h = 0; h < other.levels_.size(); ++h)
        levels_[h].insert(levels_[h].end(), other.levels_[h].begin(), other.levels_[h].end());
    n_ += other.n_;
    retained_ += other.retained_;
    // Both coin streams contribute, so merging in another order draws other coins.
    coin_state_ = mix64(coin_state_ ^ (other.coin_state_ + 0x9E3779B97F4A7C15ULL));
    compress();
}

std::vector<QuantileSketch::Weighted> QuantileSketch::sorted_items() const {
    std::vector<Weighted> items;
    items.reserve(retained_);
    for (std::size_t h = 0; h < levels_.size(); ++h)
        for (double v : levels_[h]) items.push_back({v, std::uint64_t{1} << h});
    std::sort(items.begin(), items.end(), [](const Weighted& a, const Weighted& b) { return a.value < b.value; });
    return items;
}

double QuantileSketch::quantile(double p) const {
    if (n_ == 0) throw_invalid("quantile of an empty set");
    if (!(p >= 0.0 && p <= 1.0)) throw_invalid("quantile probability must be between 0 and 1");
    if (exact()) {
        std::vector<double> values(levels_[0].begin(), levels_[0].end());
        std::sort(values.begin(), values.end());
        return quantile_type7(values, p);
    }
    if (p == 0.0) return min_;
    if (p == 1.0) return max_;
    // Type 7 over the expanded sequence: 0-based position h = p (n - 1), the
    // order statistics floor(h) and floor(h) + 1, interpolated.
    const std::vector<Weighted> items = sorted_items();
    const double h = p * static_cast<double>(n_ - 1);
    const double lo_rank_d = std::floor(h);
    const auto lo_rank = static_cast<std::uint64_t>(lo_rank_d);
    const std::uint64_t hi_rank = std::min(lo_rank + 1, n_ - 1);
    double lo = items.back().value, hi = items.back().value;
    std::uint64_t covered = 0;  // ranks 0 .. covered - 1 are before item i
    bool have_lo = false;
    for (const Weighted& item : items) {
        covered += item.weight;
        if (!have_lo && lo_rank < covered) {
            lo = item.value;
            have_lo = true;
        }
        if (hi_rank < covered) {
            hi = item.value;
            break;
        }
    }
    return std::clamp(lerp_numpy(lo, hi, h - lo_rank_d), min_, max_);
}

std::vector<double> QuantileSketch::cut_points(int bins) const {
    if (bins < 2) throw_invalid("bins must be at least 2");
    if (n_ == 0) return {};
    if (exact()) return quantile_cut_points(std::vector<double>(levels_[0].begin(), levels_[0].end()), bins);
    std::vector<double> cuts;
    cuts.reserve(static_cast<std::size_t>(bins - 1));
    for (int j = 1; j < bins; ++j) cuts.push_back(quantile(static_cast<double>(j) / bins));
    return cuts;
}

double QuantileSketch::rank_error_bound(int k) {
    check_k(k);
    return 2.446 / std::pow(static_cast<double>(k), 0.9433);
}

void QuantileSketch::serialize_into(ByteWriter& w) const {
    w.u32(static_cast<std::uint32_t>(k_));
    w.u64(n_);
    w.f64(min_);
    w.f64(max_);
    w.u64(coin_state_);
    w.u32(static_cast<std::uint32_t>(levels_.size()));
    for (const Level& level : levels_) w.f64s(level.data(), level.size());
}

QuantileSketch QuantileSketch::read_from(ByteReader& r, std::pmr::memory_resource* memory) {
    const std::uint32_t k = r.u32();
    if (k < static_cast<std::uint32_t>(kMinK) || k > static_cast<std::uint32_t>(kMaxK))
        throw Error(ErrorKind::InvalidBinary, "invalid quantile sketch: k out of range");
    QuantileSketch sketch(static_cast<int>(k), memory);
    sketch.n_ = r.u64();
    sketch.min_ = r.f64();
    sketch.max_ = r.f64();
    sketch.coin_state_ = r.u64();
    const std::uint32_t levels = r.u32();
    if (levels > kMaxLevels) throw Error(ErrorKind::InvalidBinary, "invalid quantile sketch: too many levels");
    // The weights must add up to the count, without overflow, and every item lie within [min, max].
    unsigned __int128 weight = 0;
    for (std::uint32_t h = 0; h < levels; ++h) {
        sketch.levels_.emplace_back();
        r.f64s_into(sketch.levels_.back());
        const Level& level = sketch.levels_.back();
        for (double v : level)
            if (!std::isfinite(v) || v < sketch.min_ || v > sketch.max_)
                throw Error(ErrorKind::InvalidBinary, "invalid quantile sketch: an item is outside [min, max]");
        weight += static_cast<unsigned __int128>(level.size()) << h;
        sketch.retained_ += level.size();
    }
    if (weight != sketch.n_ || sketch.n_ > kMaxCount ||
        (sketch.n_ > 0 && !(std::isfinite(sketch.min_) && std::isfinite(sketch.max_) && sketch.min_ <= sketch.max_)))
        throw Error(ErrorKind::InvalidBinary, "invalid quantile sketch: the weights do not add up to the count");
    if (sketch.n_ == 0) sketch.levels_.clear();
    sketch.refresh_capacities();
    return sketch;
}

}  // namespace crm
