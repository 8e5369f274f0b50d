#include "quantile.hpp"

#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {
// numpy's _lerp: exact at both ends and monotone in t.
double lerp(double a, double b, double t) {
    const double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}
}  // namespace

double quantile_type7(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) throw_invalid("quantile of an empty set");
    if (!(p >= 0.0 && p <= 1.0)) throw_invalid("quantile probability must be between 0 and 1");
    const double h = (static_cast<double>(sorted.size()) - 1.0) * p;
    const double lo_index = std::floor(h);
    const auto lo = static_cast<std::size_t>(lo_index);
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    return lerp(sorted[lo], sorted[hi], h - lo_index);
}

std::vector<double> quantile_cut_points(std::vector<double> values, int bins) {
    if (bins < 2) throw_invalid("bins must be at least 2");
    if (values.empty()) return {};
    std::sort(values.begin(), values.end());
    check_interrupts();
    std::vector<double> cuts;
    cuts.reserve(static_cast<std::size_t>(bins - 1));
    for (int j = 1; j < bins; ++j) cuts.push_back(quantile_type7(values, static_cast<double>(j) / bins));
    return cuts;
}

int bin_of(double x, const std::vector<double>& cuts) {
    return 1 + static_cast<int>(std::lower_bound(cuts.begin(), cuts.end(), x) - cuts.begin());
}

std::vector<int> ntile(const std::vector<std::size_t>& order, int bins) {
    if (bins < 1) throw_invalid("ntile needs at least one tile");
    const std::size_t n = order.size();
    std::vector<int> tile(n, 0);
    const std::size_t per_tile = n / static_cast<std::size_t>(bins);
    const std::size_t larger_tiles = n % static_cast<std::size_t>(bins);
    std::size_t rank = 0;
    for (int t = 1; t <= bins && rank < n; ++t) {
        const std::size_t size = per_tile + (static_cast<std::size_t>(t) <= larger_tiles ? 1 : 0);
        for (std::size_t i = 0; i < size && rank < n; ++i, ++rank) tile[order[rank]] = t;
    }
    return tile;
}

}  // namespace crm
