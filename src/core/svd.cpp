// Biased matrix factorisation by stochastic gradient descent, with the
// semantics of Surprise's SVD (biased = True):
//   r^_ui = mu + b_u + b_i + q_i . p_u
//   for each epoch, for each rating (users ascending, each user's items ascending):
//     e = r - r^;  b_u += lr (e - reg b_u);  b_i += lr (e - reg b_i)
//     p_u += lr (e q_i - reg p_u);  q_i += lr (e p_u - reg q_i)   (both from the old values)
// Factors start N(0, init_std), users then items; biases start at 0. SGD is
// sequential by nature, so the fit runs on the calling thread.
#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "factor_model.hpp"
#include "interrupts.hpp"

namespace crm {


FactorModel svd_fit(const RatingMatrix& m, const SvdOptions& o) {
    if (o.factors < 1 || o.factors > kMaxFactors)
        throw_invalid("factors must be between 1 and " + std::to_string(kMaxFactors) + ", got " + std::to_string(o.factors));
    if (o.epochs < 1) throw_invalid("epochs must be at least 1, got " + std::to_string(o.epochs));
    if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) throw_invalid("learning_rate must be a finite number > 0");
    if (!(o.regularization >= 0) || !std::isfinite(o.regularization))
        throw_invalid("regularization must be a finite number >= 0");
    if (!(o.init_std >= 0) || !std::isfinite(o.init_std)) throw_invalid("init_std must be a finite number >= 0");
    FactorModel model;
    model.kind = FactorKind::Svd;
    model.factors = o.factors;
    model.regularization = o.regularization;
    model.learning_rate = o.learning_rate;
    model.init_std = o.init_std;
    model.iterations = o.epochs;
    model.seed = o.seed;
    model.ratings = static_cast<std::int64_t>(m.ratings());
    model.global_mean = m.ratings() > 0 ? m.global_mean() : 0;
    model.min_rating = m.ratings() > 0 ? m.min_rating() : 0;
    model.max_rating = m.ratings() > 0 ? m.max_rating() : 0;
    model.user_keys.resize(m.users());
    model.item_keys.resize(m.items());
    for (std::size_t u = 0; u < m.users(); ++u) model.user_keys[u] = m.user_key(u);
    for (std::size_t i = 0; i < m.items(); ++i) model.item_keys[i] = m.item_key(i);
    NormalDeviates normal(o.seed);
    // Row-major working copies: one entity's factors contiguous.
    using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    RowMatrix p(static_cast<Eigen::Index>(m.users()), o.factors), q(static_cast<Eigen::Index>(m.items()), o.factors);
    for (Eigen::Index r = 0; r < p.rows(); ++r)
        for (int f = 0; f < o.factors; ++f) p(r, f) = normal(o.init_std);
    for (Eigen::Index r = 0; r < q.rows(); ++r)
        for (int f = 0; f < o.factors; ++f) q(r, f) = normal(o.init_std);
    Eigen::VectorXd bu = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(m.users()));
    Eigen::VectorXd bi = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(m.items()));
    const double mu = model.global_mean, lr = o.learning_rate, reg = o.regularization;
    const int nf = o.factors;
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
        for (std::size_t u = 0; u < m.users(); ++u) {
            const auto row = m.user_ratings(u);
            double* pu = p.row(static_cast<Eigen::Index>(u)).data();
            for (std::size_t e = 0; e < row.size; ++e) {
                const std::size_t i = row.index[e];
                double* qi = q.row(static_cast<Eigen::Index>(i)).data();
                double dot = 0;
                for (int f = 0; f < nf; ++f) dot += qi[f] * pu[f];
                const double err = row.value[e] - (mu + bu[static_cast<Eigen::Index>(u)] + bi[static_cast<Eigen::Index>(i)] + dot);
                bu[static_cast<Eigen::Index>(u)] += lr * (err - reg * bu[static_cast<Eigen::Index>(u)]);
                bi[static_cast<Eigen::Index>(i)] += lr * (err - reg * bi[static_cast<Eigen::Index>(i)]);
                for (int f = 0; f < nf; ++f) {
                    const double puf = pu[f], qif = qi[f];
                    pu[f] += lr * (err * qif - reg * puf);
                    qi[f] += lr * (err * puf - reg * qif);
                }
            }
            if ((u & 255) == 0) check_interrupts();
        }
    }
    model.user_factors = p;
    model.item_factors = q;
    model.user_bias = bu;
    model.item_bias = bi;
    double se = 0;
    for (std::size_t u = 0; u < m.users(); ++u) {
        const auto row = m.user_ratings(u);
        for (std::size_t e = 0; e < row.size; ++e) {
            const double d = row.value[e] - svd_predict(model, m.user_key(u), m.item_key(row.index[e]));
            se += d * d;
        }
    }
    model.training_error = m.ratings() > 0 ? std::sqrt(se / static_cast<double>(m.ratings())) : 0;
    return model;
}

double svd_predict(const FactorModel& model, std::int64_t user, std::int64_t item) {
    const std::size_t u = model.user_index(user), i = model.item_index(item);
    double est = model.global_mean;
    if (u != FactorModel::npos) est += model.user_bias[static_cast<Eigen::Index>(u)];
    if (i != FactorModel::npos) est += model.item_bias[static_cast<Eigen::Index>(i)];
    if (u != FactorModel::npos && i != FactorModel::npos)
        est += model.user_factors.row(static_cast<Eigen::Index>(u)).dot(model.item_factors.row(static_cast<Eigen::Index>(i)));
    return std::clamp(est, model.min_rating, model.max_rating);
}

SvdUser svd_fold_in(const FactorModel& model, const std::vector<std::pair<std::int64_t, double>>& rows) {
    // Unknowns z = (b_u, p_u); each row gives r - mu - b_i = [1, q_i] . z.
    const int f = model.factors;
    // Rows z = [1, q_i] of the known items, and targets r - mu - b_i; A = Z^T Z by one product.
    std::vector<std::size_t> known;
    std::vector<double> target;
    for (const auto& [item, rating] : rows) {
        const std::size_t i = model.item_index(item);
        if (i == FactorModel::npos) continue;
        known.push_back(i);
        target.push_back(rating - model.global_mean - model.item_bias[static_cast<Eigen::Index>(i)]);
    }
    const bool any = !known.empty();
    Eigen::MatrixXd z(static_cast<Eigen::Index>(known.size()), f + 1);
    for (std::size_t k = 0; k < known.size(); ++k) {
        z(static_cast<Eigen::Index>(k), 0) = 1;
        z.row(static_cast<Eigen::Index>(k)).tail(f) = model.item_factors.row(static_cast<Eigen::Index>(known[k]));
    }
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(f + 1, f + 1);
    a.selfadjointView<Eigen::Lower>().rankUpdate(z.transpose());
    a = a.selfadjointView<Eigen::Lower>();
    const Eigen::VectorXd b = z.transpose() * Eigen::Map<const Eigen::VectorXd>(target.data(), static_cast<Eigen::Index>(target.size()));
    SvdUser out;
    out.factors = Eigen::VectorXd::Zero(f);
    if (!any) return out;
    a.diagonal().array() += model.regularization;
    const Eigen::VectorXd sol = a.ldlt().solve(b);
    if (!sol.allFinite()) return out;
    out.bias = sol[0];
    out.factors = sol.tail(f);
    return out;
}

double svd_predict_folded(const FactorModel& model, const SvdUser& user, std::int64_t item) {
    const std::size_t i = model.item_index(item);
    double est = model.global_mean + user.bias;
    if (i != FactorModel::npos)
        est += model.item_bias[static_cast<Eigen::Index>(i)] + user.factors.dot(model.item_factors.row(static_cast<Eigen::Index>(i)).transpose());
    return std::clamp(est, model.min_rating, model.max_rating);
}

}  // namespace crm
