#include "quantile.hpp"

#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

double lerp_numpy(double a, double b, double t) {
    const double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

namespace {

// The two order statistics (0-based ranks lo <= hi) type 7 interpolates
// between for quantile p of n values, and the weight of the upper one.
struct Type7Position {
    std::size_t lo, hi;
    double t;
};

Type7Position type7_position(std::size_t n, double p) {
    const double h = (static_cast<double>(n) - 1.0) * p;
    const double lo_index = std::floor(h);
    const auto lo = static_cast<std::size_t>(lo_index);
    return {lo, std::min(lo + 1, n - 1), h - lo_index};
}
}  // namespace

double quantile_type7(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) throw_invalid("quantile of an empty set");
    if (!(p >= 0.0 && p <= 1.0)) throw_invalid("quantile probability must be between 0 and 1");
    const Type7Position at = type7_position(sorted.size(), p);
    return lerp_numpy(sorted[at.lo], sorted[at.hi], at.t);
}

std::vector<double> quantile_cut_points(std::vector<double> values, int bins) {
    if (bins < 2) throw_invalid("bins must be at least 2");
    if (values.empty()) return {};
    // Only the order statistics at the cut points are needed (at most two per
    // cut): select them with nth_element, in increasing rank, each within what
    // is right of the previous one, instead of sorting the whole column. The
    // values at those ranks are the sorted column's (equal values are equal;
    // -0.0 is ordered before 0.0 so that even the sign of a zero cut does not
    // depend on the selection algorithm).
    const auto less = [](double a, double b) { return a < b || (a == b && std::signbit(a) && !std::signbit(b)); };
    std::vector<Type7Position> at;
    std::vector<std::size_t> ranks;
    for (int j = 1; j < bins; ++j) {
        at.push_back(type7_position(values.size(), static_cast<double>(j) / bins));
        ranks.push_back(at.back().lo);
        ranks.push_back(at.back().hi);
    }
    std::sort(ranks.begin(), ranks.end());
    ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
    auto first = values.begin();
    for (std::size_t rank : ranks) {
        const auto nth = values.begin() + static_cast<std::ptrdiff_t>(rank);
        std::nth_element(first, nth, values.end(), less);
        first = nth + 1;
        check_interrupts();
    }
    std::vector<double> cuts;
    cuts.reserve(static_cast<std::size_t>(bins - 1));
    for (const Type7Position& a : at) cuts.push_back(lerp_numpy(values[a.lo], values[a.hi], a.t));
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
