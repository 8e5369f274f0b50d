// BG/NBD model (Fader, Hardie and Lee 2005, "Counting your customers the easy
// way"): while alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha);
// after each purchase they drop out with probability p ~ Beta(a, b).
//
// Times (t, t_x, T) are in the unit of the data the model was fitted on (days
// or weeks); alpha is in that unit too. Scoring functions allocate nothing and
// throw 22023 for invalid parameters or inputs (parameters finite and > 0;
// x an integer >= 0; 0 <= t_x <= T; t >= 0).
#pragma once

#include "clv_fit_info.hpp"
#include "clv_fit_state.hpp"

namespace crm::clv {

struct BgNbdParams {
    double r = 0.0;
    double alpha = 0.0;
    double a = 0.0;
    double b = 0.0;
};

struct BgNbdFit {
    BgNbdParams params;
    BgNbdParams se;  // standard errors (delta method from the log scale)
    FitInfo info;
};

// Maximum likelihood fit. Throws 22000 when the state holds no customer, or
// no customer with a repeat purchase (the dropout process is then not
// identified). Otherwise returns a fit, converged or not (see FitInfo).
BgNbdFit fit_bgnbd(const PurchaseFitState& state);
// The same from the state's rows (PurchaseFitState::rows(): ascending, distinct).
BgNbdFit fit_bgnbd(const std::vector<RepeatRow>& rows);

// Log-likelihood of one customer's (x, t_x, T), and of all customers of a state.
double bgnbd_log_likelihood(const BgNbdParams& p, double x, double t_x, double T);
double bgnbd_log_likelihood(const BgNbdParams& p, const PurchaseFitState& state);
// The total's analytic gradient with respect to (r, alpha, a, b).
BgNbdParams bgnbd_log_likelihood_gradient(const BgNbdParams& p, const PurchaseFitState& state);

// E[X(t)]: expected purchases of a new customer in (0, t]:
//   (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))],
// evaluated in the Euler-transformed form, finite at a = 1 (see clv_bgnbd.cpp).
double bgnbd_expected_purchases(const BgNbdParams& p, double t);

// E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (FHL 2005, eq. 10).
// 22003 when the 2F1 series cannot converge (t enormous against alpha + T).
double bgnbd_conditional_expected_purchases(const BgNbdParams& p, double t, double x, double t_x, double T);
// The same for a customer known to be alive at T (the conditional expectation
// is P(alive) times this): lets the CLV sum take P(alive) once per customer.
double bgnbd_expected_purchases_if_alive(const BgNbdParams& p, double t, double x, double T);

// P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).
// It is 1 for x = 0: in BG/NBD a customer can only drop out right after a
// repeat purchase.
double bgnbd_probability_alive(const BgNbdParams& p, double x, double t_x, double T);

// P(at least one purchase in (T, T + t] | x, t_x, T). The likelihood of
// (x, t_x, T + t) is that of the observed history with no purchase in
// (T, T + t] as well, so P(none) = L(x, t_x, T + t) / L(x, t_x, T) and the
// answer is 1 - that ratio (the gamma-function factors cancel).
double bgnbd_probability_purchase(const BgNbdParams& p, double t, double x, double t_x, double T);

}  // namespace crm::clv
