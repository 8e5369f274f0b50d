// The k-means model: assignment of new points, validation, portable bytes.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "byte_io.hpp"
#include "errors.hpp"
#include "kmeans.hpp"
#include "kmeans_internal.hpp"

namespace crm {

namespace {

using kmeans_detail::bad_binary;
using kmeans_detail::RowMatrix;

constexpr std::uint8_t kModelVersion = 1;

std::uint8_t scaling_code(Scaling s) {
    switch (s) {
        case Scaling::None: return 0;
        case Scaling::ZScore: return 1;
        case Scaling::MinMax: return 2;
    }
    return 0xFF;
}

bool scaling_from_code(std::uint8_t code, Scaling& out) {
    switch (code) {
        case 0: out = Scaling::None; return true;
        case 1: out = Scaling::ZScore; return true;
        case 2: out = Scaling::MinMax; return true;
        default: return false;
    }
}

}  // namespace

namespace kmeans_detail {

namespace {
std::string element_problem(double v) { return std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"); }
}  // namespace

// Rejects a point with a NaN or infinite element, naming the element (1-based).
void check_point(const double* x, int dims) {
    for (int j = 0; j < dims; ++j)
        if (!std::isfinite(x[j]))
            throw_invalid("element " + std::to_string(j + 1) + " of the point must be a finite number, got " +
                          element_problem(x[j]));
}

int nearest_centroid(const double* scaled, const Eigen::MatrixXd& centroids, double& best_d2) {
    const Eigen::Map<const Eigen::RowVectorXd> p(scaled, centroids.cols());
    int best = 0;
    best_d2 = (centroids.row(0) - p).squaredNorm();
    for (Index c = 1; c < centroids.rows(); ++c) {
        const double d2 = (centroids.row(c) - p).squaredNorm();
        if (d2 < best_d2) {
            best_d2 = d2;
            best = static_cast<int>(c);
        }
    }
    return best;
}

void validate_model(const KMeansModel& m, ErrorKind kind, const std::string& prefix) {
    const auto fail = [&](const std::string& why) { throw Error(kind, prefix + why); };
    const auto all_finite = [](const std::vector<double>& v) {
        return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    };
    if (m.k < 1) fail("k must be at least 1");
    if (m.dims < 1) fail("dims must be at least 1");
    const auto dims = static_cast<std::size_t>(m.dims);
    const auto k = static_cast<std::size_t>(m.k);
    if (m.offset.size() != dims || m.divisor.size() != dims) fail("offset and divisor need dims values each");
    if (!all_finite(m.offset)) fail("offset values must be finite");
    for (double v : m.divisor)
        if (!(v > 0) || !std::isfinite(v)) fail("divisor values must be positive and finite");
    if (!m.population_mean.empty() && m.population_mean.size() != dims)
        fail("population_mean needs dims values");
    if (m.population_std.size() != m.population_mean.size())
        fail("population_std needs as many values as population_mean");
    if (!all_finite(m.population_mean)) fail("population_mean values must be finite");
    for (double v : m.population_std)
        if (!(v >= 0) || !std::isfinite(v)) fail("population_std values must be finite and >= 0");
    if (static_cast<std::size_t>(m.centroids.rows()) != k || static_cast<std::size_t>(m.centroids.cols()) != dims)
        fail("centroids must be k x dims");
    if (!m.centroids.allFinite()) fail("centroids must be finite");
    if (m.sizes.size() != k || m.wcss.size() != k) fail("sizes and wcss need k values each");
    if (m.n_points < 0) fail("n_points must be >= 0");
    std::int64_t total = 0;
    for (std::int64_t s : m.sizes) {
        if (s < 0 || s > m.n_points - total) fail("cluster sizes must be >= 0 and add up to n_points");
        total += s;
    }
    if (total != m.n_points) fail("cluster sizes must add up to n_points");
    double wcss_total = 0;
    for (double w : m.wcss) {
        if (!(w >= 0) || !std::isfinite(w)) fail("wcss values must be finite and >= 0");
        wcss_total += w;
    }
    if (!(m.inertia >= 0) || !std::isfinite(m.inertia) ||
        std::abs(m.inertia - wcss_total) > 1e-9 * std::max(m.inertia, wcss_total))
        fail("inertia must be the sum of wcss");
    if (m.iterations < 0 || m.n_init < 0) fail("iterations and n_init must be >= 0");
    if (!m.feature_names.empty() && m.feature_names.size() != dims) fail("feature_names needs dims names");
    for (const std::string& name : m.feature_names)  // PostgreSQL text cannot hold a NUL
        if (name.find('\0') != std::string::npos) fail("feature names must not contain the NUL character");
}

}  // namespace kmeans_detail

Eigen::MatrixXd KMeansModel::centroids_original() const {
    const Eigen::Map<const Eigen::RowVectorXd> off(offset.data(), dims), div(divisor.data(), dims);
    return ((centroids.array().rowwise() * div.array()).rowwise() + off.array()).matrix();
}

int KMeansModel::assign(const double* x, int point_dims, double* distance) const {
    if (point_dims != dims)
        throw_invalid("the point has " + std::to_string(point_dims) + " elements, the model " +
                      std::to_string(dims));
    kmeans_detail::check_point(x, point_dims);
    // Per-row scoring: no heap allocation for the usual handful of features.
    constexpr int kStackDims = 64;
    std::array<double, kStackDims> on_stack;
    std::vector<double> on_heap(dims > kStackDims ? static_cast<std::size_t>(dims) : 0);
    double* scaled = dims > kStackDims ? on_heap.data() : on_stack.data();
    for (int j = 0; j < dims; ++j) scaled[j] = (x[j] - offset[j]) / divisor[j];
    double d2;
    const int cluster = kmeans_detail::nearest_centroid(scaled, centroids, d2);
    if (distance != nullptr) *distance = std::sqrt(d2);
    return cluster + 1;
}

std::vector<std::uint8_t> KMeansModel::serialize() const {
    ByteWriter w(tags::kmeans_model, kModelVersion);
    w.u32(static_cast<std::uint32_t>(k));
    w.u32(static_cast<std::uint32_t>(dims));
    w.u8(scaling_code(scale));
    w.f64s(offset);
    w.f64s(divisor);
    w.f64s(population_mean);
    w.f64s(population_std);
    const RowMatrix rows = centroids;  // row-major: cluster by cluster
    w.f64s(std::vector<double>(rows.data(), rows.data() + rows.size()));
    w.u64(sizes.size());
    for (std::int64_t s : sizes) w.i64(s);
    w.f64s(wcss);
    w.f64(inertia);
    w.u32(static_cast<std::uint32_t>(iterations));
    w.u32(static_cast<std::uint32_t>(n_init));
    w.u64(seed);
    w.i64(n_points);
    w.u8(converged ? 1 : 0);
    w.u32(static_cast<std::uint32_t>(feature_names.size()));
    for (const std::string& name : feature_names) w.str(name);
    return w.take();
}

KMeansModel KMeansModel::deserialize(const std::uint8_t* data, std::size_t size) {
    const char* what = "k-means model";
    ByteReader r(data, size, tags::kmeans_model, kModelVersion, what);
    constexpr auto int_max = static_cast<std::uint32_t>(std::numeric_limits<int>::max());
    KMeansModel m;
    const std::uint32_t k = r.u32();
    const std::uint32_t dims = r.u32();
    if (k < 1 || k > int_max) bad_binary(what, "k out of range");
    if (dims < 1 || dims > int_max) bad_binary(what, "dims out of range");
    m.k = static_cast<int>(k);
    m.dims = static_cast<int>(dims);
    if (!scaling_from_code(r.u8(), m.scale)) bad_binary(what, "unknown scaling");
    m.offset = r.f64s();
    m.divisor = r.f64s();
    m.population_mean = r.f64s();
    m.population_std = r.f64s();
    const std::vector<double> flat = r.f64s();
    if (flat.size() != static_cast<std::uint64_t>(k) * dims) bad_binary(what, "centroids must be k x dims");
    m.centroids = Eigen::Map<const RowMatrix>(flat.data(), m.k, m.dims);
    if (r.u64() != k) bad_binary(what, "sizes need k values");
    // Grown as read (not resized to k up front): a corrupt k cannot make us
    // allocate more than the bytes hold.
    for (std::uint32_t i = 0; i < k; ++i) m.sizes.push_back(r.i64());
    m.wcss = r.f64s();
    m.inertia = r.f64();
    const std::uint32_t iterations = r.u32();
    const std::uint32_t n_init = r.u32();
    if (iterations > int_max || n_init > int_max) bad_binary(what, "iterations or n_init out of range");
    m.iterations = static_cast<int>(iterations);
    m.n_init = static_cast<int>(n_init);
    m.seed = r.u64();
    m.n_points = r.i64();
    const std::uint8_t converged = r.u8();
    if (converged > 1) bad_binary(what, "converged must be 0 or 1");
    m.converged = converged == 1;
    const std::uint32_t names = r.u32();
    if (names != 0 && names != dims) bad_binary(what, "feature_names needs dims names");
    for (std::uint32_t i = 0; i < names; ++i) m.feature_names.push_back(r.str());
    r.expect_end();
    kmeans_detail::validate_model(m, ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: ");
    return m;
}

}  // namespace crm
