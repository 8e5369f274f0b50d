// One Lloyd step over data that lives elsewhere (shards, partitions): each
// part assigns its points to the current model's centroids and sums them per
// cluster; the sums merge; the new centroids are the means. A driver repeats
// this until the centroids stop moving, one scatter-gather per iteration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kmeans.hpp"

namespace crm {

class LloydStep {
public:
    // The model the points are assigned to (its serialised bytes): set by the
    // first point, the same for every point and every merged part (22023).
    void set_model(const std::vector<std::uint8_t>& model_bytes, const KMeansModel& model);
    bool has_model() const { return !model_bytes_.empty(); }
    // Assigns a point (original units) and adds it, in scaled space.
    void add(const KMeansModel& model, const double* x, int dims);
    void merge(const LloydStep& other);

    // The model after this step: centroids are the means of their points (an
    // empty cluster keeps its centroid), sizes the counts, wcss and inertia
    // the squared distances to the centroids the points were assigned to,
    // iterations one more, converged when no centroid moved. The shift (sum of
    // squared centroid moves, scaled space) goes to *shift.
    KMeansModel next_model(double* shift = nullptr) const;

    std::vector<std::uint8_t> serialize() const;
    static LloydStep deserialize(const std::uint8_t* data, std::size_t size);

private:
    std::vector<std::uint8_t> model_bytes_;
    int k_ = 0;
    int dims_ = 0;
    std::vector<double> sums_;           // k x dims, row-major, scaled space
    std::vector<std::int64_t> counts_;   // k
    std::vector<double> sse_;            // k: squared distance to the assigned centroid
};

// Sum of squared centroid moves between two models of the same k and dims (scaled space).
double centroid_shift(const KMeansModel& a, const KMeansModel& b);

}  // namespace crm
