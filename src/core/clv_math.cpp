#include "clv_math.hpp"

#include <algorithm>

namespace crm::clv::detail {

namespace {
// Sums terms t_1 + t_2 + ... given t_1 and the ratio t_{n+1} / t_n. Stops once
// the remaining tail, bounded by a geometric series with the larger of the
// current ratio and z (the ratio's limit), is below double precision.
template <class Ratio>
double sum_series(double first, double z, Ratio ratio, long max_terms) {
    double term = first;
    double sum = 0.0;
    double dn = 1.0;  // n as a double, counted (exact for any n reached)
    for (long n = 1; n <= max_terms; ++n, dn += 1.0) {
        sum += term;
        const double q = ratio(dn);
        term *= q;
        // |term| / (1 - bound) <= 1e-17 |sum|, without a division per term.
        const double bound = std::max(std::fabs(q), z);
        if (bound < 1.0 && std::fabs(term) <= 1e-17 * std::fabs(sum) * (1.0 - bound)) return sum + term;
        if (term == 0.0) return sum;
    }
    return std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

double hyp2f1(double a, double b, double c, double z, long max_terms) {
    if (z == 0.0) return 1.0;
    // term_{n+1} / term_n with term_n = (a)_n (b)_n / ((c)_n n!) z^n, n >= 1.
    const double first = a * b / c * z;
    return 1.0 + sum_series(first, z, [&](double dn) {
        return (a + dn) * (b + dn) / ((c + dn) * (dn + 1.0)) * z;
    }, max_terms);
}

double bgnbd_series(double A, double a, double C, double z, long max_terms) {
    if (z == 0.0) return 0.0;
    return sum_series(A * z, z, [&](double dn) {
        return (A + dn) * (a + dn - 1.0) / ((C + dn) * (dn + 1.0)) * z;
    }, max_terms);
}

void check_positive(double value, const char* name) {
    if (!(std::isfinite(value) && value > 0.0))
        throw_invalid(std::string("model parameter ") + name + " must be finite and > 0, got " +
                      std::to_string(value));
}

void check_horizon(double t) {
    if (!(std::isfinite(t) && t >= 0.0))
        throw_invalid("prediction horizon t must be finite and >= 0, got " + std::to_string(t));
}

void check_customer(double x, double t_x, double T) {
    if (!(std::isfinite(x) && x >= 0.0 && std::floor(x) == x))
        throw_invalid("frequency x must be an integer >= 0, got " + std::to_string(x));
    if (!(std::isfinite(T) && T >= 0.0 && std::isfinite(t_x) && t_x >= 0.0 && t_x <= T))
        throw_invalid("need 0 <= t_x <= T (finite), got t_x = " + std::to_string(t_x) + ", T = " + std::to_string(T));
}

}  // namespace crm::clv::detail
