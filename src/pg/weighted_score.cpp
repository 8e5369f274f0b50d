// crm.weighted_score(features float8[], weights float8[]) = sum_j w_j x_j
#include <string>
#include <vector>

#include "errors.hpp"
#include "weighted_score.hpp"

#include "bridge.hpp"
#include "datum_convert.hpp"

CRM_FUNCTION(crm_weighted_score) {
    // A NULL feature makes the score unknown (NULL), as in SQL arithmetic.
    bool null_feature = false;
    const std::vector<double> features = crm::pg::float8_array_arg(fcinfo, 0, "features", &null_feature);
    if (null_feature) PG_RETURN_NULL();
    const std::vector<double> weights = crm::pg::float8_array_arg(fcinfo, 1, "weights");
    if (features.size() != weights.size())
        crm::throw_invalid("features and weights must have the same length, got " +
                           std::to_string(features.size()) + " and " + std::to_string(weights.size()));
    PG_RETURN_FLOAT8(crm::weighted_score(features.data(), weights.data(), features.size()));
}
