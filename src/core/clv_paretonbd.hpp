// Pareto/NBD model (Schmittlein, Morrison and Colombo 1987): while alive a
// customer buys at Poisson rate lambda ~ Gamma(r, alpha) and dies at an
// exponential time with rate mu ~ Gamma(s, beta).
//
// The likelihood follows Fader and Hardie's note "A Note on Deriving the
// Pareto/NBD Model and Related Expressions" (2005):
//   L = Gamma(r+x) alpha^r beta^s / Gamma(r)
//       * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0 ],
// A0 = F(t_x) - F(T), F(y) = 2F1(r+s+x, b; r+s+x+1; |alpha-beta|/(m+y)) / (m+y)^(r+s+x),
// m = max(alpha, beta), b = s+1 when alpha >= beta, else r+x; the difference
// is taken in log space. Same unit and input rules as clv_bgnbd.hpp.
#pragma once

#include "clv_fit_info.hpp"
#include "clv_fit_state.hpp"

namespace crm::clv {

struct ParetoNbdParams {
    double r = 0.0;
    double alpha = 0.0;
    double s = 0.0;
    double beta = 0.0;
};

struct ParetoNbdFit {
    ParetoNbdParams params;
    ParetoNbdParams se;
    FitInfo info;
};

// Maximum likelihood fit (central-difference gradient). Throws 22000 when the
// state holds no customer or no repeat purchase.
ParetoNbdFit fit_paretonbd(const PurchaseFitState& state);

double paretonbd_log_likelihood(const ParetoNbdParams& p, double x, double t_x, double T);
double paretonbd_log_likelihood(const ParetoNbdParams& p, const PurchaseFitState& state);

// E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (its limit at s = 1).
double paretonbd_expected_purchases(const ParetoNbdParams& p, double t);

// P(alive at T | x, t_x, T) = (alpha+T)^-(r+x) (beta+T)^-s / [the bracket of L].
double paretonbd_probability_alive(const ParetoNbdParams& p, double x, double t_x, double T);

// E[Y(t) | x, t_x, T] = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)].
// The expected purchases of a customer known to be alive at T (the conditional
// expectation is P(alive) times this).
double paretonbd_expected_purchases_if_alive(const ParetoNbdParams& p, double t, double x, double T);
double paretonbd_conditional_expected_purchases(const ParetoNbdParams& p, double t, double x, double t_x,
                                                double T);

// P(at least one purchase in (T, T + t]) = 1 - L(x, t_x, T + t) / L(x, t_x, T).
double paretonbd_probability_purchase(const ParetoNbdParams& p, double t, double x, double t_x, double T);

}  // namespace crm::clv
