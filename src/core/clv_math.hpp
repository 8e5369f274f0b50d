// Numerical helpers shared by the CLV models (internal).
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "errors.hpp"

namespace crm::clv::detail {

// log(exp(u) + exp(v)) without overflow.
inline double log_add_exp(double u, double v) {
    const double hi = u > v ? u : v;
    if (hi == -std::numeric_limits<double>::infinity()) return hi;
    return hi + std::log1p(std::exp(-std::fabs(u - v)));
}

// (1 - exp(-k L)) / k, and its limit L at k = 0, accurate for every k: the
// integral of exp(-k u) over u in [0, L]. It is the [1 - (base/(base+t))^k]/k
// factor of the BG/NBD and Pareto/NBD expectations, whose removable
// singularity at a = 1 (s = 1) would otherwise divide 0 by 0.
inline double one_minus_exp_over(double k, double L) {
    const double kl = k * L;
    if (std::fabs(kl) < 1e-8) return L * (1.0 - 0.5 * kl);
    return -std::expm1(-kl) / k;
}

// The Gauss series 2F1(a, b; c; z) for 0 <= z < 1 and c > 0; NaN when it does
// not converge within max_terms (z within ~3e-4 of 1 with the default).
double hyp2f1(double a, double b, double c, double z, long max_terms = 100000);

// H(A, a, C, z) = C * [2F1(A, a - 1; C; z) - 1] / (a - 1), continued to a = 1:
// sum over n >= 1 of (A)_n (a)_{n-1} / ((C + 1)_{n-1} n!) z^n. Written so that
// neither a = 1 nor C = 0 divides by zero. NaN when it does not converge.
double bgnbd_series(double A, double a, double C, double z, long max_terms = 100000);

// Input checks of the scoring functions (22023).
void check_positive(double value, const char* name);
void check_horizon(double t);
void check_customer(double x, double t_x, double T);

}  // namespace crm::clv::detail
