// Quantiles, cut points and binning used by RFM scoring.
#pragma once

#include <cstddef>
#include <vector>

namespace crm {

// Quantile p in [0, 1] of sorted, non-empty data by linear interpolation
// between order statistics (Hyndman & Fan type 7: R's default, numpy's
// 'linear'). Interpolates the way numpy does, so results agree to the bit.
double quantile_type7(const std::vector<double>& sorted, double p);

// numpy's _lerp(a, b, t): exact at both ends and monotone in t.
double lerp_numpy(double a, double b, double t);

// The bins - 1 cut points at the quantiles 1/bins, 2/bins, ... of the values
// (any order; they are sorted internally). values must be non-empty.
std::vector<double> quantile_cut_points(std::vector<double> values, int bins);

// Bin 1..cuts.size()+1 of x for right-closed intervals (c[j-1], c[j]]: one plus
// the number of cut points strictly below x. Equal values get equal bins.
int bin_of(double x, const std::vector<double>& cuts);

// NTILE(bins) as SQL computes it, for rows ranked by `order` (order[i] is the
// index of the row at rank i). Returns each row's tile 1..bins. The first
// n % bins tiles hold one row more than the others.
std::vector<int> ntile(const std::vector<std::size_t>& order, int bins);

}  // namespace crm
