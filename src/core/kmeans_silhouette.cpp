// Mean silhouette coefficient of points under a k-means model.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "errors.hpp"
#include "interrupts.hpp"
#include "kmeans.hpp"
#include "kmeans_internal.hpp"
#include "kmeans_random.hpp"

namespace crm {

using namespace kmeans_detail;

std::size_t silhouette_memory_estimate(std::int64_t sample_size, int dims, int k) {
    const double points = static_cast<double>(std::max<std::int64_t>(sample_size, 0));
    const double d = static_cast<double>(std::max(dims, 0));
    const double clusters = static_cast<double>(std::max(k, 0));
    return saturating_bytes(points * (16 * d + 8 * clusters + 12) + 4096);
}

SilhouetteResult silhouette(const KMeansModel& model, const PointSet& points, std::int64_t sample_size,
                            std::uint64_t seed) {
    validate_silhouette_sample_size(sample_size);
    const std::int64_t n = points.size();
    if (n == 0) return {kNaN, 0};
    if (points.dims() != model.dims)
        throw_invalid("the points have " + std::to_string(points.dims()) + " features, the model " +
                      std::to_string(model.dims));
    if (model.k == 1) return {kNaN, 0};  // b(i) needs another cluster

    // Knuth's selection sampling: one pass, exactly uniform, keeps input order.
    const std::int64_t m = std::min(n, sample_size);
    std::vector<std::int64_t> chosen;
    chosen.reserve(static_cast<std::size_t>(m));
    if (m == n) {
        for (std::int64_t i = 0; i < n; ++i) chosen.push_back(i);
    } else {
        std::mt19937_64 rng(mix64(seed));
        for (std::int64_t i = 0; i < n && static_cast<std::int64_t>(chosen.size()) < m; ++i)
            if (uniform_below(rng, static_cast<std::uint64_t>(n - i)) <
                static_cast<std::uint64_t>(m - static_cast<std::int64_t>(chosen.size())))
                chosen.push_back(i);
    }

    const int d = model.dims;
    RowMatrix x(m, d);
    std::vector<int> label(static_cast<std::size_t>(m));
    std::vector<std::int64_t> count(model.k, 0);
    const double* raw = points.data().data();
    for (std::int64_t s = 0; s < m; ++s) {
        const double* p = raw + chosen[s] * d;
        for (int j = 0; j < d; ++j) x(s, j) = (p[j] - model.offset[j]) / model.divisor[j];
        double d2;
        label[s] = nearest_centroid(x.row(s).data(), model.centroids, d2);
        ++count[label[s]];
    }
    if (std::count_if(count.begin(), count.end(), [](std::int64_t c) { return c > 0; }) < 2) return {kNaN, m};

    // Sum of distances from every point to each cluster; each pair once.
    RowMatrix to_cluster = RowMatrix::Zero(m, model.k);
    for (std::int64_t i = 0; i < m; ++i) {
        check_interrupts();
        for (std::int64_t j = i + 1; j < m; ++j) {
            const double dist = (x.row(i) - x.row(j)).norm();
            to_cluster(i, label[j]) += dist;
            to_cluster(j, label[i]) += dist;
        }
    }

    double total = 0;
    for (std::int64_t i = 0; i < m; ++i) {
        const int own = label[i];
        if (count[own] == 1) continue;  // a lone point scores 0
        const double a = to_cluster(i, own) / static_cast<double>(count[own] - 1);
        double b = kInf;
        for (int c = 0; c < model.k; ++c)
            if (c != own && count[c] > 0) b = std::min(b, to_cluster(i, c) / static_cast<double>(count[c]));
        const double spread = std::max(a, b);
        if (spread > 0) total += (b - a) / spread;
    }
    return {total / static_cast<double>(m), m};
}

}  // namespace crm
