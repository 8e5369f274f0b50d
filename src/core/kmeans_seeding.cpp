#include "kmeans_seeding.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "interrupts.hpp"
#include "kmeans_random.hpp"

namespace crm {
namespace kmeans_detail {

RowMatrix kmeans_plus_plus(const RowMatrix& x, int k, std::mt19937_64& rng) {
    const Index n = x.rows();
    const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
    RowMatrix centres(k, x.cols());

    const Index first = static_cast<Index>(uniform_below(rng, static_cast<std::uint64_t>(n)));
    centres.row(0) = x.row(first);
    Eigen::VectorXd closest = (x.rowwise() - centres.row(0)).rowwise().squaredNorm();
    double potential = closest.sum();

    Eigen::VectorXd candidate(n), best(n);
    std::vector<std::pair<double, int>> targets(trials);  // (cumulative D^2 target, trial)
    std::vector<Index> picked(trials);
    for (int c = 1; c < k; ++c) {
        check_interrupts();
        for (int t = 0; t < trials; ++t) targets[t] = {uniform_unit(rng) * potential, t};
        std::sort(targets.begin(), targets.end());
        // One pass over the running sum serves every trial: the point whose
        // cumulative D^2 first exceeds the target. '>' (not '>=') never picks a
        // point with D^2 = 0, i.e. one that already is a centre.
        double cumulative = 0;
        std::size_t next = 0;
        Index last_positive = -1;
        for (Index i = 0; i < n && next < targets.size(); ++i) {
            cumulative += closest(i);
            if (closest(i) > 0) last_positive = i;
            while (next < targets.size() && cumulative > targets[next].first) picked[targets[next++].second] = i;
        }
        // Rounding can leave a target at the very top of the sum unmatched: the
        // loop then ran to the end, so last_positive is the last point with
        // D^2 > 0 (there is none only if D^2 underflowed everywhere).
        for (; next < targets.size(); ++next)
            picked[targets[next].second] =
                last_positive >= 0 ? last_positive
                                   : static_cast<Index>(uniform_below(rng, static_cast<std::uint64_t>(n)));

        double best_potential = kInf;
        Index best_index = picked[0];
        for (int t = 0; t < trials; ++t) {
            candidate = closest.cwiseMin((x.rowwise() - x.row(picked[t])).rowwise().squaredNorm());
            const double p = candidate.sum();
            if (p < best_potential) {
                best_potential = p;
                best_index = picked[t];
                best.swap(candidate);
            }
        }
        centres.row(c) = x.row(best_index);
        closest.swap(best);
        potential = best_potential;
    }
    return centres;
}

}  // namespace kmeans_detail
}  // namespace crm
