// What every CLV model fit reports besides its parameters.
#pragma once

#include <cstdint>
#include <string>

namespace crm::clv {

struct FitInfo {
    double log_likelihood = 0.0;  // total, at the reported parameters
    std::int64_t customers = 0;   // customers the fit used
    int iterations = 0;           // L-BFGS iterations
    // True only at a finite maximum with a small gradient and a positive
    // definite information matrix; a fit that is not converged keeps its last
    // parameters for diagnosis, with NaN standard errors and a note.
    bool converged = false;
    std::string note;  // empty when converged
};

}  // namespace crm::clv
