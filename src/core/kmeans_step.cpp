#include "kmeans_step.hpp"

#include <cmath>
#include <string>

#include "byte_io.hpp"
#include "checked_count.hpp"
#include "errors.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kVersion = 1;
}

void LloydStep::set_model(const std::vector<std::uint8_t>& bytes, const KMeansModel& model) {
    if (!model_bytes_.empty()) {
        if (bytes != model_bytes_) throw_invalid("the k-means model must be the same on every row of a Lloyd step");
        return;
    }
    model_bytes_ = bytes;
    k_ = model.k;
    dims_ = model.dims;
    sums_.assign(static_cast<std::size_t>(k_) * static_cast<std::size_t>(dims_), 0.0);
    counts_.assign(static_cast<std::size_t>(k_), 0);
    sse_.assign(static_cast<std::size_t>(k_), 0.0);
}

void LloydStep::add(const KMeansModel& model, const double* x, int dims) {
    double distance = 0;
    const int cluster = model.assign(x, dims, &distance) - 1;  // validates dims and finiteness
    const auto c = static_cast<std::size_t>(cluster);
    for (int j = 0; j < dims_; ++j) {
        const auto jj = static_cast<std::size_t>(j);
        sums_[c * static_cast<std::size_t>(dims_) + jj] += (x[j] - model.offset[jj]) / model.divisor[jj];
    }
    counts_[c] += 1;
    sse_[c] += distance * distance;
}

void LloydStep::merge(const LloydStep& other) {
    if (other.model_bytes_.empty()) return;
    if (model_bytes_.empty()) {
        *this = other;
        return;
    }
    if (other.model_bytes_ != model_bytes_)
        throw_invalid("the k-means model must be the same on every row of a Lloyd step");
    for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
    for (std::size_t c = 0; c < counts_.size(); ++c) {
        counts_[c] = add_counts(counts_[c], other.counts_[c], "k-means cluster");
        sse_[c] += other.sse_[c];
    }
}

KMeansModel LloydStep::next_model(double* shift) const {
    if (model_bytes_.empty()) throw_invalid("a Lloyd step needs at least one point");
    KMeansModel m = KMeansModel::deserialize(model_bytes_.data(), model_bytes_.size());
    const KMeansModel old = m;
    std::int64_t n = 0;
    double inertia = 0;
    for (int c = 0; c < k_; ++c) {
        const auto cc = static_cast<std::size_t>(c);
        if (counts_[cc] > 0)
            for (int j = 0; j < dims_; ++j)
                m.centroids(c, j) = sums_[cc * static_cast<std::size_t>(dims_) + static_cast<std::size_t>(j)] /
                                    static_cast<double>(counts_[cc]);
        m.sizes[cc] = counts_[cc];
        m.wcss[cc] = sse_[cc];
        n += counts_[cc];
        inertia += sse_[cc];
    }
    m.n_points = n;
    m.inertia = inertia;
    m.iterations = old.iterations + 1;
    const double moved = centroid_shift(old, m);
    m.converged = moved == 0.0;
    if (shift != nullptr) *shift = moved;
    return m;
}

double centroid_shift(const KMeansModel& a, const KMeansModel& b) {
    if (a.k != b.k || a.dims != b.dims) throw_invalid("the two models must have the same k and dimensions");
    return (a.centroids - b.centroids).squaredNorm();
}

std::vector<std::uint8_t> LloydStep::serialize() const {
    ByteWriter w(tags::lloyd_step, kVersion);
    w.blob(model_bytes_);
    w.u32(static_cast<std::uint32_t>(k_));
    w.u32(static_cast<std::uint32_t>(dims_));
    w.f64s(sums_);
    w.u64(counts_.size());
    for (auto c : counts_) w.i64(c);
    w.f64s(sse_);
    return w.take();
}

LloydStep LloydStep::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::lloyd_step, kVersion, "k-means Lloyd step state");
    const auto bad = [](const char* why) {
        throw Error(ErrorKind::InvalidBinary, std::string("invalid k-means Lloyd step state value: ") + why);
    };
    LloydStep s;
    const std::uint64_t model_size = r.u64();
    const std::uint8_t* model = r.take(model_size);
    s.model_bytes_.assign(model, model + model_size);
    s.k_ = static_cast<int>(r.u32());
    s.dims_ = static_cast<int>(r.u32());
    s.sums_ = r.f64s();
    const std::uint64_t nc = r.u64();
    if (nc > size) bad("too many counts");
    for (std::uint64_t i = 0; i < nc; ++i) s.counts_.push_back(stored_count(r.i64(), "k-means cluster"));
    s.sse_ = r.f64s();
    r.expect_end();
    if (s.model_bytes_.empty()) {
        if (s.k_ != 0 || !s.sums_.empty() || !s.counts_.empty()) bad("counts without a model");
        return s;
    }
    const KMeansModel m = KMeansModel::deserialize(s.model_bytes_.data(), s.model_bytes_.size());
    if (m.k != s.k_ || m.dims != s.dims_ || s.sums_.size() != static_cast<std::size_t>(s.k_) * s.dims_ ||
        s.counts_.size() != static_cast<std::size_t>(s.k_) || s.sse_.size() != static_cast<std::size_t>(s.k_))
        bad("sizes do not match the model");
    for (auto c : s.counts_)
        if (c < 0) bad("negative count");
    return s;
}

}  // namespace crm
