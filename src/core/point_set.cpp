// PointSet: the points of a fit, with optional reservoir sampling.
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
using kmeans_detail::uniform_below;

constexpr std::uint8_t kPointSetVersion = 1;
}  // namespace

PointSet::PointSet(std::int64_t sample_size, std::uint64_t seed) : sample_size_(sample_size), rng_state_(seed) {
    if (sample_size < 0)
        throw_invalid("sample size must be >= 0 (0 keeps every point), got " + std::to_string(sample_size));
}

std::uint64_t PointSet::next_random() {
    // SplitMix64: the state advances by the golden-ratio gamma, the output is its mix.
    rng_state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(rng_state_);
}

std::uint64_t PointSet::random_below(std::uint64_t bound) {
    return uniform_below([this] { return next_random(); }, bound);
}

void PointSet::add(const double* x, int dims) {
    if (dims < 1) throw_invalid("a point needs at least one element, got " + std::to_string(dims));
    if (dims_ != 0 && dims != dims_)
        throw_invalid("ragged points: this point has " + std::to_string(dims) + " elements, the first had " +
                      std::to_string(dims_));
    check_point(x, dims);
    if (sample_size_ == 0 || seen_ < sample_size_) {
        data_.insert(data_.end(), x, x + dims);  // may throw bad_alloc; nothing else has changed yet
    } else {
        // Algorithm R: point number seen_ + 1 replaces a uniform slot with
        // probability sample_size / (seen_ + 1).
        const std::uint64_t slot = random_below(static_cast<std::uint64_t>(seen_) + 1);
        if (slot < static_cast<std::uint64_t>(sample_size_))
            std::copy(x, x + dims, data_.begin() + static_cast<std::ptrdiff_t>(slot) * dims);
    }
    if (seen_ == 0) {
        dims_ = dims;
        rng_state_ = mix64(rng_state_ ^ hash_point(x, dims));
    }
    ++seen_;
}

void PointSet::merge(const PointSet& other) {
    if (other.sample_size_ != sample_size_)
        throw_invalid("cannot merge point sets with different sample sizes (" + std::to_string(sample_size_) +
                      " and " + std::to_string(other.sample_size_) + ")");
    if (other.seen_ == 0) return;
    if (seen_ == 0) {
        *this = other;
        return;
    }
    if (other.dims_ != dims_)
        throw_invalid("ragged points: " + std::to_string(other.dims_) + " elements in one part, " +
                      std::to_string(dims_) + " in the other");
    const std::int64_t total = seen_ + other.seen_;
    if (sample_size_ == 0 || total <= sample_size_) {
        data_.insert(data_.end(), other.data_.begin(), other.data_.end());
        seen_ = total;
        return;
    }

    // How many of the sample_size draws without replacement from the union
    // land on this side: simulate the draws (hypergeometric).
    std::uint64_t left_here = static_cast<std::uint64_t>(seen_);
    std::uint64_t left_there = static_cast<std::uint64_t>(other.seen_);
    std::int64_t from_here = 0;
    InterruptTicker ticker;
    for (std::int64_t t = 0; t < sample_size_; ++t) {
        if (random_below(left_here + left_there) < left_here) {
            ++from_here;
            --left_here;
        } else {
            --left_there;
        }
        ticker.tick();
    }

    // Each side's kept points are a uniform sample of that side, so a uniform
    // subset of them is too (partial Fisher-Yates).
    std::vector<double> merged;
    merged.reserve(static_cast<std::size_t>(sample_size_) * dims_);
    const auto take = [&](const std::vector<double>& from, std::int64_t count) {
        const std::int64_t rows = static_cast<std::int64_t>(from.size()) / dims_;
        std::vector<std::int64_t> index(rows);
        for (std::int64_t i = 0; i < rows; ++i) index[i] = i;
        for (std::int64_t t = 0; t < count; ++t) {
            const auto j = t + static_cast<std::int64_t>(random_below(static_cast<std::uint64_t>(rows - t)));
            std::swap(index[t], index[j]);
            const auto row = from.begin() + index[t] * dims_;
            merged.insert(merged.end(), row, row + dims_);
        }
    };
    take(data_, from_here);
    take(other.data_, sample_size_ - from_here);
    data_ = std::move(merged);
    seen_ = total;
}

std::size_t PointSet::memory_bytes() const { return sizeof(PointSet) + data_.capacity() * sizeof(double); }

std::vector<std::uint8_t> PointSet::serialize() const {
    ByteWriter w(tags::point_set, kPointSetVersion);
    w.i64(sample_size_);
    w.u64(rng_state_);
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
    p.rng_state_ = r.u64();
    const std::uint32_t dims = r.u32();
    p.seen_ = r.i64();
    p.data_ = r.f64s();
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
    return p;
}

}  // namespace crm
