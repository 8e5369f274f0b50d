// Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV: using
// iso-value curves"): a customer's spend per transaction is Gamma(p, nu) with
// nu ~ Gamma(q, gamma), independent of their purchase process. A customer with
// x repeat transactions of mean m has the density
//   f(m | x) = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q).
// Fitted on customers with x > 0 (SpendFitState skips x = 0).
#pragma once

#include "clv_fit_info.hpp"
#include "clv_fit_state.hpp"

namespace crm::clv {

struct GammaGammaParams {
    double p = 0.0;
    double q = 0.0;
    double gamma = 0.0;
};

struct GammaGammaFit {
    GammaGammaParams params;
    GammaGammaParams se;
    FitInfo info;  // customers = those with x > 0
};

// Maximum likelihood fit (analytic gradient). Throws 22000 when the state
// holds no customer with x > 0.
GammaGammaFit fit_gammagamma(const SpendFitState& state);
// The same from the state's rows (SpendFitState::rows(): x > 0, ascending, distinct).
GammaGammaFit fit_gammagamma(const std::vector<SpendRow>& rows);

// Log density of one customer's mean spend m (x >= 1, m > 0), and the total.
double gammagamma_log_likelihood(const GammaGammaParams& p, double x, double m);
double gammagamma_log_likelihood(const GammaGammaParams& p, const SpendFitState& state);
// The total's analytic gradient with respect to (p, q, gamma).
GammaGammaParams gammagamma_log_likelihood_gradient(const GammaGammaParams& p, const SpendFitState& state);

// E[M | x, m] = p (gamma + m x) / (p x + q - 1): the posterior mean spend per
// transaction, a weighted average of the population mean p gamma / (q - 1) and
// the customer's own mean m. For x = 0, m is ignored and the population mean is
// returned. Throws 22023 for bad inputs (x an integer >= 0; m finite, > 0 when
// x > 0) and 22003 when p x + q <= 1 (the mean is infinite).
double gammagamma_expected_spend(const GammaGammaParams& p, double x, double m);

}  // namespace crm::clv
