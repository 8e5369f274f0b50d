// Validation of the k-means options: the one place every caller (kmeans_fit,
// the aggregate state, the adapter's options decoder, the silhouette) checks
// them, so they cannot disagree.
#include <cmath>
#include <string>

#include "errors.hpp"
#include "kmeans.hpp"

namespace crm {

void validate_kmeans_options(const KMeansOptions& o, std::int64_t sample_size) {
    if (o.k < 1) throw_invalid("k must be at least 1, got " + std::to_string(o.k));
    if (o.n_init < 1) throw_invalid("n_init must be at least 1, got " + std::to_string(o.n_init));
    if (o.max_iter < 1) throw_invalid("max_iter must be at least 1, got " + std::to_string(o.max_iter));
    if (!(o.tol >= 0.0) || !std::isfinite(o.tol))
        throw_invalid("tol must be a finite number >= 0, got " +
                      std::string(std::isnan(o.tol) ? "NaN" : std::isinf(o.tol) ? "Infinity" : std::to_string(o.tol)));
    if (sample_size < 0) throw_invalid("sample_size must not be negative");
    if (sample_size > 0 && sample_size < o.k)
        throw_invalid("sample_size (" + std::to_string(sample_size) + ") must be at least k (" +
                      std::to_string(o.k) + ")");
    for (const auto& name : o.feature_names) {
        if (name.empty()) throw_invalid("feature_names must not contain empty names");
        if (name.find('\0') != std::string::npos)
            throw_invalid("feature_names must not contain the NUL character");
    }
    if (o.initial_centroids.size() != 0 && (o.initial_centroids.rows() != o.k || !o.initial_centroids.allFinite()))
        throw_invalid("initial_centroids must be k x dims finite numbers (" + std::to_string(o.k) + " rows)");
}

void validate_silhouette_sample_size(std::int64_t sample_size) {
    if (sample_size < 1) throw_invalid("sample_size must be at least 1, got " + std::to_string(sample_size));
}

}  // namespace crm
