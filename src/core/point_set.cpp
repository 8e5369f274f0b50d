// PointSet: the points of a fit, with optional bottom-k sampling by a seeded
// hash of each row's contents (see kmeans.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "byte_io.hpp"
#include "errors.hpp"
#include "interrupts.hpp"
#include "kmeans.hpp"
#include "kmeans_internal.hpp"
#include "kmeans_random.hpp"

namespace crm {

namespace {
using kmeans_detail::bad_binary;
using kmeans_detail::check_point;
using kmeans_detail::hash_point;
using kmeans_detail::mix64;

// Version 2 (0.2.0): bottom-k samples. Version 1 (0.1.0): reservoir samples.
constexpr std::uint8_t kPointSetVersion = 2;
constexpr std::uint8_t kReservoirVersion = 1;
}  // namespace

PointSet::PointSet(std::int64_t sample_size, std::uint64_t seed, std::pmr::memory_resource* memory)
    : sample_size_(sample_size), seed_(seed), data_(memory), keys_(memory), heap_(memory) {
    if (sample_size < 0)
        throw_invalid("sample size must be >= 0 (0 keeps every point), got " + std::to_string(sample_size));
}

std::uint64_t PointSet::key_of(const double* x) const {
    return mix64(hash_point(x, dims_) ^ mix64(seed_ ^ 0x5851F42D4C957F2DULL));
}

bool PointSet::row_less(std::uint64_t key, const double* x, std::int64_t slot) const {
    const std::uint64_t other = keys_[static_cast<std::size_t>(slot)];
    if (key != other) return key < other;
    const double* y = data_.data() + slot * dims_;
    return std::lexicographical_compare(x, x + dims_, y, y + dims_);
}

void PointSet::offer(const double* x, std::uint64_t key) {
    const auto heap_less = [this](std::int64_t a, std::int64_t b) {
        return row_less(keys_[static_cast<std::size_t>(a)], data_.data() + a * dims_, b);
    };
    if (size() < sample_size_) {
        data_.insert(data_.end(), x, x + dims_);  // may throw bad_alloc before anything else changes
        keys_.push_back(key);
        heap_.push_back(size() - 1);
        std::push_heap(heap_.begin(), heap_.end(), heap_less);
        return;
    }
    // Full: replace the row of largest (key, contents) if this one is smaller.
    if (!row_less(key, x, heap_.front())) return;
    std::pop_heap(heap_.begin(), heap_.end(), heap_less);
    const std::int64_t slot = heap_.back();
    std::copy(x, x + dims_, data_.begin() + slot * dims_);
    keys_[static_cast<std::size_t>(slot)] = key;
    std::push_heap(heap_.begin(), heap_.end(), heap_less);
}

void PointSet::add(const double* x, int dims) {
    if (dims < 1) throw_invalid("a point needs at least one element, got " + std::to_string(dims));
    if (dims_ != 0 && dims != dims_)
        throw_invalid("ragged points: this point has " + std::to_string(dims) + " elements, the first had " +
                      std::to_string(dims_));
    check_point(x, dims);
    if (dims_ == 0) dims_ = dims;
    if (sample_size_ == 0)
        data_.insert(data_.end(), x, x + dims);  // may throw bad_alloc; nothing else has changed yet
    else
        offer(x, key_of(x));
    ++seen_;
}

void PointSet::merge(const PointSet& other) {
    if (other.sample_size_ != sample_size_)
        throw_invalid("cannot merge point sets with different sample sizes (" + std::to_string(sample_size_) +
                      " and " + std::to_string(other.sample_size_) + ")");
    if (other.seed_ != seed_) throw_invalid("cannot merge point sets sampled with different seeds");
    if (other.seen_ == 0) return;
    if (seen_ == 0) {
        *this = other;
        return;
    }
    if (other.dims_ != dims_)
        throw_invalid("ragged points: " + std::to_string(other.dims_) + " elements in one part, " +
                      std::to_string(dims_) + " in the other");
    if (sample_size_ == 0) {
        data_.insert(data_.end(), other.data_.begin(), other.data_.end());
    } else {
        InterruptTicker ticker;
        for (std::int64_t row = 0; row < other.size(); ++row) {
            offer(other.data_.data() + row * dims_, other.keys_[static_cast<std::size_t>(row)]);
            ticker.tick();
        }
    }
    seen_ += other.seen_;
}

PointSet PointSet::canonical() const {
    std::vector<std::int64_t> order(static_cast<std::size_t>(size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    const double* base = data_.data();
    const int d = dims_;
    InterruptTicker ticker;
    std::sort(order.begin(), order.end(), [base, d, &ticker](std::int64_t a, std::int64_t b) {
        ticker.tick();
        return std::lexicographical_compare(base + a * d, base + (a + 1) * d, base + b * d, base + (b + 1) * d);
    });
    PointSet out(0, seed_);
    out.dims_ = dims_;
    out.seen_ = size();
    out.data_.reserve(data_.size());
    for (const std::int64_t row : order) out.data_.insert(out.data_.end(), base + row * d, base + (row + 1) * d);
    return out;
}

void PointSet::rebuild_keys() {
    keys_.clear();
    heap_.clear();
    if (sample_size_ == 0) return;
    for (std::int64_t row = 0; row < size(); ++row) {
        keys_.push_back(key_of(data_.data() + row * dims_));
        heap_.push_back(row);
    }
    std::make_heap(heap_.begin(), heap_.end(), [this](std::int64_t a, std::int64_t b) {
        return row_less(keys_[static_cast<std::size_t>(a)], data_.data() + a * dims_, b);
    });
}

std::size_t PointSet::memory_bytes() const {
    return sizeof(PointSet) + data_.capacity() * sizeof(double) + keys_.capacity() * sizeof(std::uint64_t) +
           heap_.capacity() * sizeof(std::int64_t);
}

std::vector<std::uint8_t> PointSet::serialize() const {
    ByteWriter w(tags::point_set, kPointSetVersion);
    w.i64(sample_size_);
    w.u64(seed_);
    w.u32(static_cast<std::uint32_t>(dims_));
    w.i64(seen_);
    w.f64s(data_);
    return w.take();
}

PointSet PointSet::deserialize(const std::uint8_t* data, std::size_t size) {
    const char* what = "k-means point set";
    ByteReader r(data, size, tags::point_set, kPointSetVersion, what);
    PointSet p;
    p.sample_size_ = r.i64();
    p.seed_ = r.u64();
    if (r.version() == kReservoirVersion && p.sample_size_ > 0)
        throw_invalid("this k-means partial state holds a sample drawn by crm_analytics 0.1.0, which cannot be "
                      "merged with the samples of this version",
                      "Recompute it with crm.kmeans_fit_partial of this version (see docs/upgrading.md).");
    const std::uint32_t dims = r.u32();
    p.seen_ = r.i64();
    const std::vector<double> points = r.f64s();
    p.data_.assign(points.begin(), points.end());
    r.expect_end();

    if (p.sample_size_ < 0) bad_binary(what, "negative sample size");
    if (p.seen_ < 0) bad_binary(what, "negative point count");
    if (dims > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) bad_binary(what, "too many dimensions");
    p.dims_ = static_cast<int>(dims);
    if ((p.seen_ == 0) != (p.dims_ == 0)) bad_binary(what, "dimensions and point count disagree");
    if (p.dims_ == 0) {
        if (!p.data_.empty()) bad_binary(what, "points without dimensions");
        return p;
    }
    if (p.data_.size() % dims != 0) bad_binary(what, "the data is not a whole number of points");
    const std::int64_t kept = static_cast<std::int64_t>(p.data_.size() / dims);
    const std::int64_t expected = p.sample_size_ == 0 ? p.seen_ : std::min(p.seen_, p.sample_size_);
    if (kept != expected) bad_binary(what, "the number of kept points does not match the counts");
    for (double v : p.data_)
        if (!std::isfinite(v)) bad_binary(what, "a non-finite coordinate");
    p.rebuild_keys();
    return p;
}

}  // namespace crm
