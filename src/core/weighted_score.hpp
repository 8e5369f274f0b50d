// The weighted composite customer score C = sum_j w_j x_j.
#pragma once

#include <cstddef>

namespace crm {

// Dot product of features and weights of equal length n (>= 1); every value
// must be finite (22023 naming the position otherwise).
double weighted_score(const double* features, const double* weights, std::size_t n);

}  // namespace crm
