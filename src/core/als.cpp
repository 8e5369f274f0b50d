// Implicit ALS (Hu, Koren and Volinsky 2008), as benfred/implicit computes it
// with the plain lambda * I regularisation:
//   confidence c_ui = 1 + alpha * r_ui, preference p_ui = 1 for every observed pair
//   x_u = (Y^T Y + Y^T (C_u - I) Y + lambda I)^-1 Y^T C_u p_u
// and the same for items with the roles swapped. Only the observed pairs enter
// the sums (Y^T Y is shared), so a step costs O(nnz f^2 + n f^3).
//
// Threads: the solves of one half-step are independent; `threads` workers
// (std::thread, started and joined inside the half-step) take contiguous
// ranges of users or items. They touch only Eigen and their own output rows,
// never PostgreSQL; interrupts are checked on the calling thread between
// half-steps. The result does not depend on the thread count: every solve
// reads the same inputs and writes its own row.
#include <algorithm>
#include <cmath>
#include <thread>

#include "errors.hpp"
#include "factor_model.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

using Index = RatingMatrix::Index;

// One row of A x = b for the entity with the given observed (other index, rating) pairs:
// A = gram + sum (c - 1) y y^T as one rank update of the gathered rows scaled by sqrt(c - 1).
Eigen::VectorXd solve_one(const Eigen::MatrixXd& other, const Eigen::MatrixXd& gram, const Index* index,
                          const double* value, std::size_t n, double alpha) {
    const Eigen::Index f = other.cols();
    Eigen::MatrixXd scaled(f, static_cast<Eigen::Index>(n));
    Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
    Eigen::Index k = 0;
    for (std::size_t e = 0; e < n; ++e) {
        if (value[e] <= 0) continue;  // a zero rating is no preference
        const double c = 1 + alpha * value[e];
        const auto y = other.row(index[e]).transpose();
        scaled.col(k++) = std::sqrt(c - 1) * y;
        b.noalias() += c * y;
    }
    Eigen::MatrixXd a = gram;
    a.selfadjointView<Eigen::Lower>().rankUpdate(scaled.leftCols(k));
    const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(a);
    if (llt.info() == Eigen::Success) return llt.solve(b);
    return a.selfadjointView<Eigen::Lower>().ldlt().solve(b);  // regularization 0 and a singular system
}

template <class Rows>
void half_step(Eigen::MatrixXd& target, const Eigen::MatrixXd& other, std::size_t count, Rows rows, double lambda,
               double alpha, int threads) {
    Eigen::MatrixXd gram = other.transpose() * other;
    gram.diagonal().array() += lambda;
    const auto work = [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            const auto r = rows(i);
            target.row(static_cast<Eigen::Index>(i)) = solve_one(other, gram, r.index, r.value, r.size, alpha).transpose();
        }
    };
    const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(threads), count));
    if (workers == 1) {
        work(0, count);
        return;
    }
    std::vector<std::thread> pool;
    const std::size_t chunk = (count + workers - 1) / workers;
    for (std::size_t w = 1; w < workers; ++w)
        pool.emplace_back(work, std::min(count, w * chunk), std::min(count, (w + 1) * chunk));
    work(0, std::min(count, chunk));  // the calling thread takes the first range
    for (auto& t : pool) t.join();
}

}  // namespace

FactorModel als_fit(const RatingMatrix& m, const AlsOptions& o) {
    if (o.factors < 1) throw_invalid("factors must be at least 1, got " + std::to_string(o.factors));
    if (!(o.regularization >= 0) || !std::isfinite(o.regularization))
        throw_invalid("regularization must be a finite number >= 0");
    if (!(o.alpha > 0) || !std::isfinite(o.alpha)) throw_invalid("alpha must be a finite number > 0");
    if (o.iterations < 1) throw_invalid("iterations must be at least 1, got " + std::to_string(o.iterations));
    if (m.ratings() > 0 && m.min_rating() < 0)
        throw_invalid("implicit ratings must not be negative (confidence is 1 + alpha * rating)");
    FactorModel model;
    model.kind = FactorKind::Als;
    model.factors = o.factors;
    model.regularization = o.regularization;
    model.alpha = o.alpha;
    model.iterations = o.iterations;
    model.seed = o.seed;
    model.ratings = static_cast<std::int64_t>(m.ratings());
    model.user_keys.resize(m.users());
    model.item_keys.resize(m.items());
    for (std::size_t u = 0; u < m.users(); ++u) model.user_keys[u] = m.user_key(u);
    for (std::size_t i = 0; i < m.items(); ++i) model.item_keys[i] = m.item_key(i);
    // N(0, 0.01) start, users then items, row by row.
    NormalDeviates normal(o.seed);
    Eigen::MatrixXd& x = model.user_factors;
    Eigen::MatrixXd& y = model.item_factors;
    x.resize(static_cast<Eigen::Index>(m.users()), o.factors);
    y.resize(static_cast<Eigen::Index>(m.items()), o.factors);
    for (Eigen::Index r = 0; r < x.rows(); ++r)
        for (int f = 0; f < o.factors; ++f) x(r, f) = normal(0.01);
    for (Eigen::Index r = 0; r < y.rows(); ++r)
        for (int f = 0; f < o.factors; ++f) y(r, f) = normal(0.01);
    const auto user_rows = [&m](std::size_t u) { return m.user_ratings(u); };
    const auto item_rows = [&m](std::size_t i) { return m.item_ratings(i); };
    for (int it = 0; it < o.iterations; ++it) {
        half_step(x, y, m.users(), user_rows, o.regularization, o.alpha, o.threads);
        check_interrupts();
        half_step(y, x, m.items(), item_rows, o.regularization, o.alpha, o.threads);
        check_interrupts();
    }
    // A last user step, so that the stored user factors are exactly what
    // fold-in computes from the same rows and the final item factors.
    half_step(x, y, m.users(), user_rows, o.regularization, o.alpha, o.threads);
    double se = 0;
    for (std::size_t u = 0; u < m.users(); ++u) {
        const auto r = m.user_ratings(u);
        for (std::size_t e = 0; e < r.size; ++e) {
            const double d = 1 - x.row(static_cast<Eigen::Index>(u)).dot(y.row(r.index[e]));
            se += d * d;
        }
    }
    model.training_error = m.ratings() > 0 ? se / static_cast<double>(m.ratings()) : 0;
    return model;
}

AlsFoldIn::AlsFoldIn(const FactorModel& model) : model_(model) {}

Eigen::VectorXd AlsFoldIn::solve(const std::vector<std::pair<std::int64_t, double>>& rows) const {
    std::vector<Index> index;
    std::vector<double> value;
    for (const auto& [item, rating] : rows) {
        const std::size_t i = model_.item_index(item);
        if (i == FactorModel::npos) continue;
        index.push_back(static_cast<Index>(i));
        value.push_back(rating);
    }
    if (index.empty()) return Eigen::VectorXd::Zero(model_.factors);
    return solve_one(model_.item_factors, model_.item_gram(), index.data(), value.data(), index.size(), model_.alpha);
}

}  // namespace crm
