#include "kmeans_scaling.hpp"

#include <cctype>
#include <cmath>
#include <string>
#include <unordered_set>

#include "errors.hpp"
#include "interrupts.hpp"
#include "kmeans_random.hpp"

namespace crm {

// ---------------------------------------------------------------------------
// Scaling names

Scaling parse_scaling(const std::string& name) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "none") return Scaling::None;
    if (lower == "zscore") return Scaling::ZScore;
    if (lower == "minmax") return Scaling::MinMax;
    throw_invalid("scale must be zscore, minmax or none, got \"" + name + "\"");
}

const char* scaling_name(Scaling scale) {
    switch (scale) {
        case Scaling::None: return "none";
        case Scaling::ZScore: return "zscore";
        case Scaling::MinMax: return "minmax";
    }
    return "unknown";
}

namespace kmeans_detail {

ScaledPoints scale_points(const PointSet& points, Scaling scale) {
    const Index n = points.size();
    const Index d = points.dims();
    const Eigen::Map<const RowMatrix> raw(points.data().data(), n, d);

    // Two-pass mean and variance: the one-pass formula cancels badly for
    // features with a large mean and a small spread (e.g. epoch timestamps).
    const Eigen::RowVectorXd mean = raw.colwise().sum() / static_cast<double>(n);
    const Eigen::RowVectorXd var =
        (raw.rowwise() - mean).array().square().colwise().sum().matrix() / static_cast<double>(n);
    const Eigen::RowVectorXd lo = raw.colwise().minCoeff();
    const Eigen::RowVectorXd hi = raw.colwise().maxCoeff();
    if (!mean.allFinite() || !var.allFinite())
        throw_error(ErrorKind::OutOfRange, "feature values are too large for k-means (their variance overflows)",
                    "Rescale the inputs, e.g. to thousands instead of units.");

    ScaledPoints s;
    s.offset.assign(d, 0.0);
    s.divisor.assign(d, 1.0);
    s.mean.assign(mean.data(), mean.data() + d);
    s.stddev.resize(d);
    for (Index j = 0; j < d; ++j) {
        s.stddev[j] = std::sqrt(var(j));
        // A constant feature keeps divisor 1 and is shifted by its exact value
        // (not the computed mean, which can be off by an ulp), so it scales to 0.
        const bool constant = lo(j) == hi(j);
        switch (scale) {
            case Scaling::None: break;
            case Scaling::ZScore:
                s.offset[j] = constant ? lo(j) : mean(j);
                // The spread can underflow to 0 for values a few ulps apart.
                s.divisor[j] = constant || !(s.stddev[j] > 0) ? 1.0 : s.stddev[j];
                break;
            case Scaling::MinMax:
                s.offset[j] = lo(j);
                s.divisor[j] = constant ? 1.0 : hi(j) - lo(j);
                break;
        }
    }
    // The same expression, element by element, as KMeansModel::assign, so a
    // point scales to the same bits in the fit and in assign().
    const Eigen::Map<const Eigen::RowVectorXd> offset(s.offset.data(), d), divisor(s.divisor.data(), d);
    s.x = (raw.rowwise() - offset).array().rowwise() / divisor.array();
    check_interrupts();

    const Eigen::RowVectorXd scaled_mean = s.x.colwise().sum() / static_cast<double>(n);
    const Eigen::RowVectorXd scaled_var =
        (s.x.rowwise() - scaled_mean).array().square().colwise().sum().matrix() / static_cast<double>(n);
    if (!s.x.allFinite() || !scaled_var.allFinite())
        throw_error(ErrorKind::OutOfRange, "feature values are too large for k-means after scaling",
                    "Rescale the inputs or use z-score scaling.");
    s.mean_variance = scaled_var.mean();
    return s;
}

std::int64_t distinct_rows(const RowMatrix& x, std::int64_t limit) {
    const auto hash = [&x](Index i) { return static_cast<std::size_t>(hash_point(x.row(i).data(), x.cols())); };
    const auto equal = [&x](Index a, Index b) { return x.row(a) == x.row(b); };
    std::unordered_set<Index, decltype(hash), decltype(equal)> seen(64, hash, equal);
    InterruptTicker ticker;
    for (Index i = 0; i < x.rows() && static_cast<std::int64_t>(seen.size()) < limit; ++i) {
        seen.insert(i);
        ticker.tick();
    }
    return static_cast<std::int64_t>(seen.size());
}

}  // namespace kmeans_detail
}  // namespace crm
