#include "kmeans_lloyd.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "interrupts.hpp"

namespace crm {
namespace kmeans_detail {

namespace {

// Exact nearest and second-nearest squared distances of point i.
void nearest_two(const RowMatrix& x, Index i, const RowMatrix& centres, int& best, double& d1, double& d2) {
    best = 0;
    d1 = kInf;
    d2 = kInf;
    for (Index c = 0; c < centres.rows(); ++c) {
        const double d = (x.row(i) - centres.row(c)).squaredNorm();
        if (d < d1) {
            d2 = d1;
            d1 = d;
            best = static_cast<int>(c);
        } else if (d < d2) {
            d2 = d;
        }
    }
}

void cluster_sums(const RowMatrix& x, const std::vector<int>& label, RowMatrix& sums,
                  std::vector<std::int64_t>& counts) {
    sums.setZero();
    std::fill(counts.begin(), counts.end(), 0);
    InterruptTicker ticker;
    for (Index i = 0; i < x.rows(); ++i) {
        sums.row(label[i]) += x.row(i);
        ++counts[label[i]];
        ticker.tick();
    }
}

// Gives every empty cluster the point farthest from its centroid, taken from a
// cluster with more than one point (so no new cluster empties), then recounts.
void relocate_empty_clusters(const RowMatrix& x, const RowMatrix& centres, std::vector<int>& label,
                             Eigen::VectorXd& upper, Eigen::VectorXd& lower, RowMatrix& sums,
                             std::vector<std::int64_t>& counts) {
    const Index n = x.rows();
    Eigen::VectorXd dist(n);
    for (Index i = 0; i < n; ++i) dist(i) = (x.row(i) - centres.row(label[i])).squaredNorm();
    std::vector<Index> order(n);
    std::iota(order.begin(), order.end(), Index{0});
    InterruptTicker ticker;
    std::sort(order.begin(), order.end(), ticking(ticker, [&dist](Index a, Index b) {
                  return dist(a) > dist(b) || (dist(a) == dist(b) && a < b);
              }));
    check_interrupts();
    std::size_t next = 0;
    for (std::size_t c = 0; c < counts.size(); ++c) {
        if (counts[c] != 0) continue;
        while (next < order.size() && counts[label[order[next]]] <= 1) ++next;
        if (next == order.size()) break;  // cannot happen while n >= k
        const Index i = order[next++];
        --counts[label[i]];
        counts[c] = 1;
        label[i] = static_cast<int>(c);
        // Its bounds no longer describe it: force an exact look next iteration.
        upper(i) = kInf;
        lower(i) = 0;
    }
    cluster_sums(x, label, sums, counts);
}

double assignment_inertia(const RowMatrix& x, const RowMatrix& centres, const std::vector<int>& label) {
    double total = 0;
    for (Index i = 0; i < x.rows(); ++i) total += (x.row(i) - centres.row(label[i])).squaredNorm();
    return total;
}

}  // namespace

LloydResult lloyd_hamerly(const RowMatrix& x, RowMatrix centres, int max_iter, double tol_shift, int init,
                          ProgressCallback progress, void* progress_arg, bool with_inertia) {
    const Index n = x.rows();
    const Index k = centres.rows();
    std::vector<int> label(n);
    Eigen::VectorXd upper(n), lower(n);  // to the own centre; to every other centre
    InterruptTicker ticker(1024);

    for (Index i = 0; i < n; ++i) {
        double d1, d2;
        nearest_two(x, i, centres, label[i], d1, d2);
        upper(i) = std::sqrt(d1);
        lower(i) = std::sqrt(d2);
        ticker.tick();
    }

    RowMatrix sums(k, x.cols()), next(k, x.cols());
    std::vector<std::int64_t> counts(k);
    Eigen::VectorXd half_gap(k), shift(k);
    for (int iter = 1;; ++iter) {
        if (iter > 1) {
            // Half the distance from each centre to its nearest other centre: a
            // point closer than that to its own centre cannot change cluster.
            half_gap.setConstant(kInf);
            for (Index a = 0; a < k; ++a)
                for (Index b = a + 1; b < k; ++b) {
                    const double h = 0.5 * (centres.row(a) - centres.row(b)).norm();
                    half_gap(a) = std::min(half_gap(a), h);
                    half_gap(b) = std::min(half_gap(b), h);
                }
            for (Index i = 0; i < n; ++i) {
                ticker.tick();
                const double bound = std::max(half_gap(label[i]), lower(i));
                if (upper(i) <= bound) continue;
                upper(i) = (x.row(i) - centres.row(label[i])).norm();  // tighten, then test again
                if (upper(i) <= bound) continue;
                double d1, d2;
                nearest_two(x, i, centres, label[i], d1, d2);
                upper(i) = std::sqrt(d1);
                lower(i) = std::sqrt(d2);
            }
        }

        cluster_sums(x, label, sums, counts);
        if (std::find(counts.begin(), counts.end(), 0) != counts.end())
            relocate_empty_clusters(x, centres, label, upper, lower, sums, counts);
        for (Index c = 0; c < k; ++c) {
            if (counts[c] > 0)
                next.row(c) = sums.row(c) / static_cast<double>(counts[c]);
            else  // only possible if n < k, which the fit rules out; keep the centre rather than divide by 0
                next.row(c) = centres.row(c);
        }
        shift = (next - centres).rowwise().norm();
        centres.swap(next);

        // Move the bounds by how far the centres moved.
        Index fastest = 0;
        shift.maxCoeff(&fastest);
        double second = 0;
        for (Index c = 0; c < k; ++c)
            if (c != fastest) second = std::max(second, shift(c));
        for (Index i = 0; i < n; ++i) {
            upper(i) += shift(label[i]);
            lower(i) -= label[i] == fastest ? second : shift(fastest);
        }

        // The inertia costs a pass over the points: only when asked for (verbose).
        if (progress != nullptr)
            progress(init + 1, iter, with_inertia ? assignment_inertia(x, centres, label)
                                                  : std::numeric_limits<double>::quiet_NaN(),
                     progress_arg);
        check_interrupts();
        if (shift.squaredNorm() <= tol_shift) return {std::move(centres), iter, true};
        if (iter >= max_iter) return {std::move(centres), iter, false};
    }
}

Candidate finish(const RowMatrix& x, LloydResult&& run) {
    Candidate c;
    c.centroids = run.centres;
    const Index k = c.centroids.rows();
    c.sizes.assign(k, 0);
    c.wcss.assign(k, 0.0);
    InterruptTicker ticker;
    for (Index i = 0; i < x.rows(); ++i) {
        double d2;
        const int j = nearest_centroid(x.row(i).data(), c.centroids, d2);
        ++c.sizes[j];
        c.wcss[j] += d2;
        ticker.tick();
    }
    for (double w : c.wcss) c.inertia += w;
    c.iterations = run.iterations;
    c.converged = run.converged;
    return c;
}

}  // namespace kmeans_detail
}  // namespace crm
