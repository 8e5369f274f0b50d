// Maximum likelihood over log-parameters for the CLV models (internal).
//
// Every parameter of BG/NBD, Pareto/NBD and Gamma-Gamma is positive, so the
// search runs on their logarithms: unconstrained, and the scales of r (~0.2)
// and alpha (~4 weeks or ~30 days) stop mattering. LBFGS++ minimises the
// negative mean log-likelihood; standard errors come from a central-difference
// Hessian of the gradient, mapped to the original parameters by the delta
// method (at the maximum, Cov(theta) = D Cov(log theta) D with D = diag(theta)).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "clv_fit_info.hpp"
#include "clv_fit_state.hpp"

namespace crm::clv::detail {

// Total log-likelihood at exp(log_params); writes its gradient with respect to
// log_params into grad. May return a non-finite value (taken as "outside").
using LogLikelihood = std::function<double(const Eigen::VectorXd& log_params, Eigen::VectorXd& grad)>;

struct MaximumLikelihood {
    Eigen::VectorXd params;  // original scale
    Eigen::VectorXd se;      // NaN when the Hessian is not positive definite
    double log_likelihood = 0.0;
    int iterations = 0;
    bool converged = false;
    std::string note;  // why not converged, or "" when converged
};

MaximumLikelihood maximize_log_likelihood(const LogLikelihood& ll, const Eigen::VectorXd& start_params,
                                          std::int64_t customers);

// The fit report of a maximum likelihood run.
FitInfo fit_info(const MaximumLikelihood& ml, std::int64_t customers);

// Totals of a purchase fit's rows, for the starting point.
struct PurchaseTotals {
    double repeat_purchases = 0.0;  // sum of x
    double age = 0.0;               // sum of T
};

// Throws 22000 when the rows hold no customer or no repeat purchase (the
// dropout or death process is then not identified); `model` names the fit.
PurchaseTotals identifiable_totals(const std::vector<RepeatRow>& rows, const char* model);

// Central-difference gradient of ll_value on log-parameters, for models
// whose analytic gradient is not worth its complexity (Pareto/NBD).
Eigen::VectorXd numerical_log_gradient(const std::function<double(const Eigen::VectorXd&)>& ll_value,
                                       const Eigen::VectorXd& log_params);

}  // namespace crm::clv::detail
