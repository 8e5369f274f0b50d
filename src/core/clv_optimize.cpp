#include "clv_optimize.hpp"

#include <Eigen/Cholesky>
#include <LBFGS.h>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm::clv::detail {

namespace {
// |log theta| beyond this means the parameter ran off to 0 or infinity: the
// data do not identify the model (e.g. no repeat purchases at all).
constexpr double kMaxLogParam = 25.0;
// Gradient of the mean log-likelihood (per customer) that counts as a maximum.
constexpr double kGradientTolerance = 1e-4;

// LBFGS++ minimises; it sees the negative mean log-likelihood and remembers
// the best finite point, because a failing line search leaves x at its last
// trial, not at the best point seen.
class Objective {
public:
    Objective(const LogLikelihood& ll, double customers) : ll_(ll), scale_(1.0 / customers) {}

    double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
        check_interrupts();
        // A fit that needs more evaluations than this is sliding along a
        // ridge (parameters running off together, as Pareto/NBD's s and beta
        // do when the data show no heterogeneity in dropout): stop it and
        // report it as not converged, instead of searching for minutes.
        if (++evaluations_ > kMaxEvaluations) throw BudgetExhausted();
        grad.resize(x.size());
        const double value = ll_(x, grad);
        if (!std::isfinite(value) || !grad.allFinite() || x.cwiseAbs().maxCoeff() > 2 * kMaxLogParam) {
            // Outside the model: a huge value makes the line search step back.
            grad.setZero();
            return std::numeric_limits<double>::infinity();
        }
        const double f = -value * scale_;
        grad *= -scale_;
        if (!has_best_ || f < best_f_) {
            has_best_ = true;
            best_f_ = f;
            best_x_ = x;
            best_grad_ = grad;
        }
        return f;
    }

    struct BudgetExhausted : std::exception {
        const char* what() const noexcept override { return "stopped after the evaluation budget"; }
    };
    static constexpr int kMaxEvaluations = 200;
    int evaluations() const { return evaluations_; }

    bool has_best() const { return has_best_; }
    const Eigen::VectorXd& best_x() const { return best_x_; }
    const Eigen::VectorXd& best_grad() const { return best_grad_; }

private:
    const LogLikelihood& ll_;
    double scale_;
    int evaluations_ = 0;
    bool has_best_ = false;
    double best_f_ = 0.0;
    Eigen::VectorXd best_x_;
    Eigen::VectorXd best_grad_;
};

// Hessian of the total log-likelihood on log-parameters, by central
// differences of the analytic gradient (symmetrised).
Eigen::MatrixXd log_hessian(const LogLikelihood& ll, const Eigen::VectorXd& x) {
    const Eigen::Index k = x.size();
    Eigen::MatrixXd h(k, k);
    Eigen::VectorXd gp(k), gm(k);
    for (Eigen::Index j = 0; j < k; ++j) {
        const double step = 1e-4 * std::max(1.0, std::fabs(x[j]));
        Eigen::VectorXd xp = x, xm = x;
        xp[j] += step;
        xm[j] -= step;
        ll(xp, gp);
        ll(xm, gm);
        h.col(j) = (gp - gm) / (2 * step);
    }
    return 0.5 * (h + h.transpose());
}
}  // namespace

FitInfo fit_info(const MaximumLikelihood& ml, std::int64_t customers) {
    return FitInfo{ml.log_likelihood, customers, ml.iterations, ml.converged, ml.note};
}

PurchaseTotals identifiable_totals(const std::vector<RepeatRow>& rows, const char* model) {
    PurchaseTotals totals;
    for (const RepeatRow& row : rows) {
        totals.repeat_purchases += static_cast<double>(row.count) * static_cast<double>(row.x);
        totals.age += static_cast<double>(row.count) * row.T;
    }
    if (rows.empty()) throw_error(ErrorKind::DataException, std::string("cannot fit ") + model + ": no customers");
    if (totals.repeat_purchases == 0.0)
        throw_error(ErrorKind::DataException, std::string("cannot fit ") + model + ": no customer has a repeat purchase",
                    "Dropout is learnt from repeat purchases; fit on a longer period or more customers.");
    return totals;
}

Eigen::VectorXd numerical_log_gradient(const std::function<double(const Eigen::VectorXd&)>& ll_value,
                                       const Eigen::VectorXd& x) {
    Eigen::VectorXd g(x.size());
    for (Eigen::Index j = 0; j < x.size(); ++j) {
        // The step balances truncation (h^2) against rounding (eps / h).
        const double step = 1e-5;
        Eigen::VectorXd xp = x, xm = x;
        xp[j] += step;
        xm[j] -= step;
        g[j] = (ll_value(xp) - ll_value(xm)) / (2 * step);
    }
    return g;
}

MaximumLikelihood maximize_log_likelihood(const LogLikelihood& ll, const Eigen::VectorXd& start_params,
                                          std::int64_t customers) {
    MaximumLikelihood out;
    const Eigen::Index k = start_params.size();
    Objective objective(ll, static_cast<double>(customers));

    LBFGSpp::LBFGSParam<double> param;
    param.epsilon = 1e-8;
    param.epsilon_rel = 0.0;
    param.past = 3;        // also stop when the objective no longer moves
    param.delta = 1e-15;
    param.max_iterations = 1000;
    param.max_linesearch = 60;
    param.linesearch = LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE;
    LBFGSpp::LBFGSSolver<double> solver(param);

    Eigen::VectorXd x = start_params.array().log().matrix();
    double fx = 0.0;
    std::string stop;
    // A failed line search (the routine found no step that satisfies the
    // Wolfe conditions, which happens near the maximum in floating point and
    // on flat, badly scaled likelihoods) restarts L-BFGS from the best point
    // with its curvature memory cleared, then with the plainer Armijo line
    // search; the gradient check below decides whether the result is a maximum.
    for (int attempt = 0; attempt < 6; ++attempt) {
        param.linesearch = attempt < 3 ? LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE
                                       : LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_ARMIJO;
        LBFGSpp::LBFGSSolver<double> restarted(param);
        if (attempt > 0) {
            if (!objective.has_best()) break;
            x = objective.best_x();
            if (objective.best_grad().cwiseAbs().maxCoeff() <= kGradientTolerance) break;
        }
        try {
            out.iterations += (attempt == 0 ? solver : restarted).minimize(objective, x, fx);
            stop.clear();
            break;
        } catch (const Error&) {
            throw;  // ours (a cancel in the tests' handler, bad input): not a failed search
        } catch (const Objective::BudgetExhausted& e) {
            stop = std::string(e.what()) + " (" + std::to_string(Objective::kMaxEvaluations) + " likelihood evaluations)";
            break;
        } catch (const std::logic_error& e) {
            stop = e.what();
            out.iterations += 1;
        } catch (const std::runtime_error& e) {  // LBFGS++'s failed line searches; a PostgreSQL cancel passes
            stop = e.what();
            out.iterations += 1;
        }
    }
    if (!objective.has_best()) {
        out.params = Eigen::VectorXd::Constant(k, std::numeric_limits<double>::quiet_NaN());
        out.se = out.params;
        out.log_likelihood = std::numeric_limits<double>::quiet_NaN();
        out.note = "the log-likelihood is not finite at the starting point";
        return out;
    }
    const Eigen::VectorXd best = objective.best_x();
    out.params = best.array().exp().matrix();
    Eigen::VectorXd grad(k);
    out.log_likelihood = ll(best, grad);
    out.se = Eigen::VectorXd::Constant(k, std::numeric_limits<double>::quiet_NaN());

    const double gnorm = objective.best_grad().cwiseAbs().maxCoeff();
    if (best.cwiseAbs().maxCoeff() > kMaxLogParam) {
        out.note = "a parameter ran off to 0 or infinity: the data do not identify the model";
        return out;
    }
    if (!(gnorm <= kGradientTolerance)) {
        out.note = "no maximum found (gradient " + std::to_string(gnorm) + " after " +
                   std::to_string(out.iterations) + " iterations" + (stop.empty() ? "" : "; " + stop) + ")";
        return out;
    }
    const Eigen::MatrixXd information = -log_hessian(ll, best);
    const Eigen::LLT<Eigen::MatrixXd> llt(information);
    if (llt.info() != Eigen::Success || !information.allFinite()) {
        out.note = "the Hessian is not negative definite at the optimum: the parameters are not identified";
        return out;
    }
    const Eigen::MatrixXd cov_log = llt.solve(Eigen::MatrixXd::Identity(k, k));
    out.se = out.params.cwiseProduct(cov_log.diagonal().cwiseSqrt());
    out.converged = out.params.allFinite() && std::isfinite(out.log_likelihood);
    if (!out.converged) out.note = "the log-likelihood is not finite at the optimum";
    return out;
}

}  // namespace crm::clv::detail
