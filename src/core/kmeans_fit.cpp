// kmeans_fit: the driver (options, scaling, n_init starts, the best model)
// and the memory estimate of a fit.
#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <utility>

#include "errors.hpp"
#include "kmeans.hpp"
#include "kmeans_internal.hpp"
#include "kmeans_lloyd.hpp"
#include "kmeans_random.hpp"
#include "kmeans_scaling.hpp"
#include "kmeans_seeding.hpp"

namespace crm {

using namespace kmeans_detail;

std::size_t kmeans_memory_estimate(std::int64_t n, int dims, int k) {
    const double points = static_cast<double>(std::max<std::int64_t>(n, 0));
    const double d = static_cast<double>(std::max(dims, 0));
    const double clusters = static_cast<double>(std::max(k, 0));
    // Per point: the scaled copy (8 d), and at the peak either k-means++'s three
    // distance arrays (24) or the label (4), Hamerly's two bounds (16) and the
    // empty-cluster relocation's distance and order arrays (16); counted together
    // as an upper bound (44). Per cluster: five k x d centroid-sized buffers,
    // a dozen per-cluster scalars and the distinct-point check's hash node.
    // The canonical copy of the rows (8 d) and its sort order (8) come on top.
    return saturating_bytes(points * (16 * d + 52) + clusters * (40 * d + 96 + 64) + 4096);
}

KMeansModel kmeans_fit(const PointSet& points, const KMeansOptions& options, ProgressCallback progress,
                       void* progress_arg) {
    validate_kmeans_options(options);
    if (points.size() == 0) throw_invalid("k-means needs at least one point", "The input has no rows.");
    if (!options.feature_names.empty() && options.feature_names.size() != static_cast<std::size_t>(points.dims()))
        throw_invalid("feature_names has " + std::to_string(options.feature_names.size()) + " names for " +
                      std::to_string(points.dims()) + " features");

    const bool warm_start = options.initial_centroids.size() != 0;
    if (warm_start && (options.initial_centroids.rows() != options.k ||
                       options.initial_centroids.cols() != points.dims() || !options.initial_centroids.allFinite()))
        throw_invalid("initial_centroids must be k x dims finite numbers (" + std::to_string(options.k) + " x " +
                      std::to_string(points.dims()) + ")");

    // The rows in canonical order: the scaling's sums, the seeds and every
    // Lloyd step then depend on the rows, not on the order they were read in.
    const ScaledPoints scaled = scale_points(points.canonical(), options.scale);
    const std::int64_t distinct = distinct_rows(scaled.x, options.k);
    if (distinct < options.k)
        throw_invalid("k = " + std::to_string(options.k) + " exceeds the number of distinct points (" +
                      std::to_string(distinct) + ")",
                      "Lower k to at most " + std::to_string(distinct) + ".");

    const double tol_shift = options.tol * scaled.mean_variance;
    const ProgressCallback report = progress;
    const int n_init = warm_start ? 1 : options.n_init;
    Candidate best;
    for (int init = 0; init < n_init; ++init) {
        RowMatrix seeds;
        if (warm_start) {
            const Eigen::Map<const Eigen::RowVectorXd> offset(scaled.offset.data(), points.dims()),
                divisor(scaled.divisor.data(), points.dims());
            seeds = (options.initial_centroids.rowwise() - offset).array().rowwise() / divisor.array();
        } else {
            std::mt19937_64 rng = start_generator(options.seed, init);
            seeds = kmeans_plus_plus(scaled.x, options.k, rng);
        }
        Candidate c = finish(scaled.x, lloyd_hamerly(scaled.x, std::move(seeds), options.max_iter, tol_shift, init,
                                                     report, progress_arg, options.verbose));
        if (init == 0 || c.inertia < best.inertia) best = std::move(c);
    }

    KMeansModel m;
    m.k = options.k;
    m.dims = points.dims();
    m.scale = options.scale;
    m.offset = scaled.offset;
    m.divisor = scaled.divisor;
    m.centroids = std::move(best.centroids);
    m.sizes = std::move(best.sizes);
    m.wcss = std::move(best.wcss);
    m.inertia = best.inertia;
    m.iterations = best.iterations;
    m.n_init = n_init;
    m.seed = options.seed;
    m.n_points = points.size();
    m.converged = best.converged;
    m.feature_names = options.feature_names;
    m.population_mean = scaled.mean;
    m.population_std = scaled.stddev;
    return m;
}

}  // namespace crm
