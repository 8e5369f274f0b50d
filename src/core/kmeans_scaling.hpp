// Feature scaling of a k-means fit and the distinct-point count that bounds k.
#pragma once

#include <cstdint>
#include <vector>

#include "kmeans.hpp"
#include "kmeans_internal.hpp"

namespace crm {
namespace kmeans_detail {

struct ScaledPoints {
    RowMatrix x;                                 // n x d, scaled
    std::vector<double> offset, divisor;         // as in KMeansModel
    std::vector<double> mean, stddev;            // original units, population
    double mean_variance = 0;                    // mean per-feature variance of x (for tol)
};

// Scales the points as `scale` says; values whose variance overflows (before
// or after scaling) are 22003.
ScaledPoints scale_points(const PointSet& points, Scaling scale);

// Number of distinct rows, counting only up to `limit` (enough to validate k
// with O(k) memory; the whole input is scanned only when there are fewer).
std::int64_t distinct_rows(const RowMatrix& x, std::int64_t limit);

}  // namespace kmeans_detail
}  // namespace crm
