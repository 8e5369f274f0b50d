#include "clv_gammagamma.hpp"

#include <Eigen/Core>
#include <boost/math/special_functions/digamma.hpp>
#include <cmath>

#include "clv_math.hpp"
#include "clv_optimize.hpp"
#include "errors.hpp"

namespace crm::clv {

namespace {
using boost::math::digamma;

void check_params(const GammaGammaParams& p) {
    detail::check_positive(p.p, "p");
    detail::check_positive(p.q, "q");
    detail::check_positive(p.gamma, "gamma");
}

void check_spend_input(double x, double m) {
    if (!(std::isfinite(x) && x >= 0.0 && std::floor(x) == x))
        throw_invalid("frequency x must be an integer >= 0, got " + std::to_string(x));
    if (x > 0.0 && !(std::isfinite(m) && m > 0.0))
        throw_invalid("mean spend m must be finite and > 0 when x > 0, got " + std::to_string(m));
}

double row_log_density(const GammaGammaParams& p, double x, double m) {
    const double px = p.p * x;
    return std::lgamma(px + p.q) - std::lgamma(px) - std::lgamma(p.q) + p.q * std::log(p.gamma) +
           (px - 1.0) * std::log(m) + px * std::log(x) - (px + p.q) * std::log(p.gamma + m * x);
}

// The rows grouped by x, with what does not depend on the parameters
// precomputed: per evaluation a row then costs one log and one division, and
// the special functions (lgamma, digamma) are taken once per distinct x, not
// per customer (most customers share a handful of x values).
struct SpendData {
    struct Group {
        double x = 0.0, log_x = 0.0;
        double customers = 0.0;     // sum of counts
        double sum_log_m = 0.0;     // sum of count * log m
        std::size_t begin = 0, end = 0;  // rows [begin, end)
    };
    std::vector<Group> groups;
    std::vector<double> m, count;

    explicit SpendData(const std::vector<SpendRow>& rows) {
        for (const SpendRow& row : rows) {
            const double x = static_cast<double>(row.x);
            if (groups.empty() || groups.back().x != x) {
                Group g;
                g.x = x;
                g.log_x = std::log(x);
                g.begin = m.size();
                groups.push_back(g);
            }
            Group& g = groups.back();
            const double n = static_cast<double>(row.count);
            m.push_back(row.m);
            count.push_back(n);
            g.customers += n;
            g.sum_log_m += n * std::log(row.m);
            g.end = m.size();
        }
    }
};

double total_log_likelihood(const GammaGammaParams& p, const SpendData& data, Eigen::Vector3d* grad) {
    double ll = 0.0;
    Eigen::Vector3d g = Eigen::Vector3d::Zero();
    const double lgamma_q = std::lgamma(p.q);
    const double log_gamma = std::log(p.gamma);
    const double dq = grad ? digamma(p.q) : 0.0;
    for (const SpendData::Group& group : data.groups) {
        const double px = p.p * group.x;
        double sum_log_gmx = 0.0, sum_inv_gmx = 0.0;
        for (std::size_t i = group.begin; i < group.end; ++i) {
            const double gmx = p.gamma + data.m[i] * group.x;
            sum_log_gmx += data.count[i] * std::log(gmx);
            if (grad) sum_inv_gmx += data.count[i] / gmx;
        }
        const double lgamma_all = std::lgamma(px + p.q);
        ll += group.customers * (lgamma_all - std::lgamma(px) - lgamma_q + p.q * log_gamma + px * group.log_x) +
              (px - 1.0) * group.sum_log_m - (px + p.q) * sum_log_gmx;
        if (grad) {
            const double dg_all = digamma(px + p.q);
            g[0] += group.x * (group.customers * (dg_all - digamma(px) + group.log_x) + group.sum_log_m - sum_log_gmx);
            g[1] += group.customers * (dg_all - dq + log_gamma) - sum_log_gmx;
            g[2] += group.customers * p.q / p.gamma - (px + p.q) * sum_inv_gmx;
        }
    }
    if (grad) *grad = g;
    return ll;
}

GammaGammaParams from_vector(const Eigen::VectorXd& v) { return GammaGammaParams{v[0], v[1], v[2]}; }
}  // namespace

double gammagamma_log_likelihood(const GammaGammaParams& p, double x, double m) {
    check_params(p);
    check_spend_input(x, m);
    if (x == 0.0) throw_invalid("the Gamma-Gamma density needs x >= 1 (no repeat spend when x = 0)");
    return row_log_density(p, x, m);
}

double gammagamma_log_likelihood(const GammaGammaParams& p, const SpendFitState& state) {
    check_params(p);
    return total_log_likelihood(p, SpendData(state.rows()), nullptr);
}

GammaGammaParams gammagamma_log_likelihood_gradient(const GammaGammaParams& p, const SpendFitState& state) {
    check_params(p);
    Eigen::Vector3d g;
    total_log_likelihood(p, SpendData(state.rows()), &g);
    return GammaGammaParams{g[0], g[1], g[2]};
}

GammaGammaFit fit_gammagamma(const SpendFitState& state) { return fit_gammagamma(state.rows()); }

GammaGammaFit fit_gammagamma(const std::vector<SpendRow>& rows) {
    std::int64_t customers = 0;
    for (const SpendRow& row : rows) customers += row.count;  // the state's customers(), which cannot overflow
    if (customers == 0)
        throw_error(ErrorKind::DataException, "cannot fit Gamma-Gamma: no customer with a repeat purchase");
    double sum_m = 0.0;
    for (const SpendRow& row : rows) sum_m += static_cast<double>(row.count) * row.m;
    const SpendData data(rows);

    const detail::LogLikelihood ll = [&data](const Eigen::VectorXd& log_params, Eigen::VectorXd& grad) {
        const GammaGammaParams p = from_vector(log_params.array().exp().matrix());
        Eigen::Vector3d g;
        const double value = total_log_likelihood(p, data, &g);
        grad = g.cwiseProduct(Eigen::Vector3d(p.p, p.q, p.gamma));
        return value;
    };
    // Start where the population mean p gamma / (q - 1) is the sample mean.
    Eigen::VectorXd start(3);
    start << 1.0, 2.0, sum_m / static_cast<double>(customers);
    const detail::MaximumLikelihood ml = detail::maximize_log_likelihood(ll, start, customers);

    GammaGammaFit fit;
    fit.params = from_vector(ml.params);
    fit.se = from_vector(ml.se);
    fit.info = detail::fit_info(ml, customers);
    return fit;
}

double gammagamma_expected_spend(const GammaGammaParams& p, double x, double m) {
    check_params(p);
    check_spend_input(x, m);
    const double denominator = p.p * x + p.q - 1.0;
    if (!(denominator > 0.0))
        throw_error(ErrorKind::OutOfRange, "the expected spend is infinite when p x + q <= 1",
                    "The fitted spend distribution has no mean (q <= 1): the model does not suit these data.");
    return p.p * (p.gamma + (x > 0.0 ? m * x : 0.0)) / denominator;
}

}  // namespace crm::clv
