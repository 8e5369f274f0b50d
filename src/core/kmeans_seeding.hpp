// Seeding of a k-means start: greedy k-means++.
#pragma once

#include <random>

#include "kmeans_internal.hpp"

namespace crm {
namespace kmeans_detail {

// k centres chosen among the rows of x (Arthur & Vassilvitskii 2007; greedy
// trials as in scikit-learn: 2 + floor(ln k) candidates per step, keeping the
// one that lowers the potential most). Needs at least k distinct rows.
RowMatrix kmeans_plus_plus(const RowMatrix& x, int k, std::mt19937_64& rng);

}  // namespace kmeans_detail
}  // namespace crm
