// Implicit ALS (Hu, Koren and Volinsky 2008), as benfred/implicit computes it
// with the plain lambda * I regularisation:
//   confidence c_ui = 1 + alpha * r_ui, preference p_ui = 1 for every observed pair
//   x_u = (Y^T Y + Y^T (C_u - I) Y + lambda I)^-1 Y^T C_u p_u
// and the same for items with the roles swapped. Only the observed pairs enter
// the sums (Y^T Y is shared), so a step costs O(nnz f^2 + n f^3).
//
// Threads: the solves of one half-step are independent; `threads` workers
// (run_jobs of parallel_jobs.hpp, started and joined inside the half-step)
// take chunks of 256 users or items. They touch only Eigen and their own
// output rows, never PostgreSQL; the calling thread waits and checks for
// interrupts, a worker's exception is rethrown on it after every worker is
// joined. The result does not depend on the thread count: every solve reads
// the same inputs and writes its own row.
#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "factor_model.hpp"
#include "interrupts.hpp"
#include "parallel_jobs.hpp"

namespace crm {

namespace {

using Index = RatingMatrix::Index;

// One row of A x = b for the entity with the given observed (other index, rating) pairs:
// A = gram + sum (c - 1) y y^T as rank updates of the gathered rows scaled by
// sqrt(c - 1), in blocks so that scratch memory stays f x 1024 however many
// rows the entity has.
Eigen::VectorXd solve_one(const Eigen::MatrixXd& other, const Eigen::MatrixXd& gram, const Index* index,
                          const double* value, std::size_t n, double alpha, Progress& progress) {
    constexpr std::size_t kBlock = 1024;
    const Eigen::Index f = other.cols();
    Eigen::MatrixXd scaled(f, static_cast<Eigen::Index>(std::min(n, kBlock)));
    Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
    Eigen::MatrixXd a = gram;
    for (std::size_t start = 0; start < n; start += kBlock) {
        Eigen::Index k = 0;
        for (std::size_t e = start; e < std::min(n, start + kBlock); ++e) {
            if (value[e] <= 0) continue;  // a zero rating is no preference
            const double c = 1 + alpha * value[e];
            const auto y = other.row(index[e]).transpose();
            scaled.col(k++) = std::sqrt(c - 1) * y;
            b.noalias() += c * y;
        }
        a.selfadjointView<Eigen::Lower>().rankUpdate(scaled.leftCols(k));
        progress.add(static_cast<std::size_t>(k * f));
    }
    const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(a);
    if (llt.info() == Eigen::Success) return llt.solve(b);
    return a.selfadjointView<Eigen::Lower>().ldlt().solve(b);  // regularization 0 and a singular system
}

// Solves every row of `target` from `other`, spread over `threads` workers
// (parallel_jobs.hpp: cancellable, exceptions rethrown on the caller).
template <class Rows>
void half_step(Eigen::MatrixXd& target, const Eigen::MatrixXd& other, std::size_t count, Rows rows, double lambda,
               double alpha, int threads) {
    Eigen::MatrixXd gram = other.transpose() * other;
    gram.diagonal().array() += lambda;
    constexpr std::size_t kChunk = 256;
    const int jobs = static_cast<int>((count + kChunk - 1) / kChunk);
    run_jobs(jobs, threads, [&](int, int job, Progress& progress) {
        const std::size_t begin = static_cast<std::size_t>(job) * kChunk;
        for (std::size_t i = begin; i < std::min(count, begin + kChunk); ++i) {
            const auto r = rows(i);
            target.row(static_cast<Eigen::Index>(i)) =
                solve_one(other, gram, r.index, r.value, r.size, alpha, progress).transpose();
        }
    });
}

}  // namespace

FactorModel als_fit(const RatingMatrix& m, const AlsOptions& o) {
    if (o.factors < 1 || o.factors > kMaxFactors)
        throw_invalid("factors must be between 1 and " + std::to_string(kMaxFactors) + ", got " + std::to_string(o.factors));
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
    Progress progress(true, nullptr);
    return solve_one(model_.item_factors, model_.item_gram(), index.data(), value.data(), index.size(), model_.alpha,
                     progress);
}

}  // namespace crm
