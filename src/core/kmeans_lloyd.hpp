// Lloyd iterations of one k-means start, with Hamerly's bounds, and the final
// exact assignment that gives sizes, wcss and inertia.
#pragma once

#include <cstdint>
#include <vector>

#include "kmeans.hpp"
#include "kmeans_internal.hpp"

namespace crm {
namespace kmeans_detail {

struct LloydResult {
    RowMatrix centres;
    int iterations = 0;
    bool converged = false;
};

// Iterates from `centres` until the total squared centroid shift of an
// iteration is <= tol_shift or max_iter iterations have run. `progress` (when
// given) is called after every iteration with start init + 1; with_inertia
// makes it get the inertia of the current assignment (a pass over the points).
LloydResult lloyd_hamerly(const RowMatrix& x, RowMatrix centres, int max_iter, double tol_shift, int init,
                          ProgressCallback progress, void* progress_arg, bool with_inertia);

// One start's result after the final exact assignment.
struct Candidate {
    Eigen::MatrixXd centroids;
    std::vector<std::int64_t> sizes;
    std::vector<double> wcss;
    double inertia = 0;
    int iterations = 0;
    bool converged = false;
};

// Assigns every point once more, exactly, to the final centres.
Candidate finish(const RowMatrix& x, LloydResult&& run);

}  // namespace kmeans_detail
}  // namespace crm
