// Internal to the k-means files (not part of the API in kmeans.hpp): the
// matrix type of the fit, the point checks and the nearest-centroid rule
// shared by the fit, the model and the silhouette.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <string>

#include "errors.hpp"
#include "kmeans.hpp"

namespace crm {
namespace kmeans_detail {

// Points and centroids inside the fit: row-major so a point is contiguous.
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Index = Eigen::Index;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Rejects a point with a NaN or infinite element, naming the element (1-based).
void check_point(const double* x, int dims);

// Nearest centroid of a point already in scaled space; the lowest index on an
// exact tie. The fit's final assignment and KMeansModel::assign both go through
// this one function with the same argument types, so they agree bit for bit.
int nearest_centroid(const double* scaled, const Eigen::MatrixXd& centroids, double& best_d2);

// A byte count computed in double, as size_t, saturating at SIZE_MAX.
inline std::size_t saturating_bytes(double bytes) {
    if (!(bytes < static_cast<double>(std::numeric_limits<std::size_t>::max())))
        return std::numeric_limits<std::size_t>::max();
    return static_cast<std::size_t>(bytes);
}

[[noreturn]] inline void bad_binary(const char* what, const std::string& why) {
    throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: " + why);
}

// Checks a model read from bytes or text (k >= 1, dims >= 1, array lengths,
// finite numbers, positive divisors, sizes adding up to n_points, inertia =
// sum of wcss); anything wrong is an Error of `kind` whose message starts with
// `prefix`.
void validate_model(const KMeansModel& m, ErrorKind kind, const std::string& prefix);

}  // namespace kmeans_detail
}  // namespace crm
