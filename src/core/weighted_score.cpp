#include "weighted_score.hpp"

#include <Eigen/Core>
#include <cmath>
#include <string>

#include "errors.hpp"

namespace crm {

double weighted_score(const double* features, const double* weights, std::size_t n) {
    if (n == 0) throw_invalid("features must not be empty");
    for (std::size_t j = 0; j < n; ++j) {
        if (!std::isfinite(features[j]))
            throw_invalid("features[" + std::to_string(j + 1) + "] must be a finite number");
        if (!std::isfinite(weights[j]))
            throw_invalid("weights[" + std::to_string(j + 1) + "] must be a finite number");
    }
    using Vec = Eigen::Map<const Eigen::VectorXd, Eigen::Unaligned>;
    const Vec x(features, static_cast<Eigen::Index>(n));
    const Vec w(weights, static_cast<Eigen::Index>(n));
    const double score = x.dot(w);
    if (!std::isfinite(score)) throw_error(ErrorKind::OutOfRange, "weighted score overflows float8");
    return score;
}

}  // namespace crm
