// Campaign effect aggregates:
//   crm.campaign_uplift(is_treatment boolean, revenue float8 [, confidence float8]) -> crm.campaign_uplift
//   crm.conversion_uplift(is_treatment boolean, converted boolean [, confidence float8]) -> crm.conversion_uplift
// Rows with a NULL arm or outcome are skipped and counted in the result.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "campaign.hpp"
#include "errors.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "context_object.hpp"
#include "partial_state.hpp"

namespace {

using crm::pg::state_arg;

// The optional third argument; must be the same on every row.
template <typename State>
void apply_confidence(FunctionCallInfo fcinfo, State& state, bool first_row) {
    if (PG_NARGS() < 4) return;
    if (PG_ARGISNULL(3)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "confidence must not be NULL");
    const double confidence = PG_GETARG_FLOAT8(3);
    crm::check_confidence(confidence);
    if (first_row)
        state.confidence = confidence;
    else if (confidence != state.confidence)
        crm::throw_invalid("confidence must be the same on every row");
}

Datum opt(const std::optional<double>& v, bool* is_null) {
    *is_null = !v.has_value();
    return v ? Float8GetDatum(*v) : static_cast<Datum>(0);
}

}  // namespace

CRM_FUNCTION(crm_uplift_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.campaign_uplift");
    auto* state = state_arg<crm::UpliftState>(fcinfo, 0);
    const bool first_row = state == nullptr;
    if (first_row) state = crm::pg::make_state<crm::UpliftState>(context);
    apply_confidence(fcinfo, *state, first_row);
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
        state->skipped++;
    else
        state->add(PG_GETARG_BOOL(1), PG_GETARG_FLOAT8(2));
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_uplift_combine) { return crm::pg::combine_states<crm::UpliftState>(fcinfo, "crm.campaign_uplift"); }

CRM_FUNCTION(crm_uplift_serial) { return crm::pg::serialize_state<crm::UpliftState>(fcinfo); }

CRM_FUNCTION(crm_uplift_deserial) {
    return crm::pg::deserialize_state<crm::UpliftState>(fcinfo, "crm.campaign_uplift");
}

CRM_FUNCTION(crm_uplift_final) {
    const auto* state = state_arg<crm::UpliftState>(fcinfo, 0);
    if (state == nullptr) PG_RETURN_NULL();
    const crm::UpliftResult r = crm::welch_uplift(*state);
    std::vector<Datum> values(11);
    std::vector<bool> nulls(11, false);
    bool n = false;
    values[0] = Int64GetDatum(r.treated_n);
    values[1] = Int64GetDatum(r.control_n);
    values[2] = opt(r.treated_mean, &n), nulls[2] = n;
    values[3] = opt(r.control_mean, &n), nulls[3] = n;
    values[4] = opt(r.uplift, &n), nulls[4] = n;
    values[5] = opt(r.incremental_revenue, &n), nulls[5] = n;
    values[6] = opt(r.ci_low, &n), nulls[6] = n;
    values[7] = opt(r.ci_high, &n), nulls[7] = n;
    values[8] = opt(r.p_value, &n), nulls[8] = n;
    values[9] = Float8GetDatum(state->confidence);
    values[10] = Int64GetDatum(r.skipped);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), values, nulls);
}

CRM_FUNCTION(crm_conversion_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.conversion_uplift");
    auto* state = state_arg<crm::ConversionState>(fcinfo, 0);
    const bool first_row = state == nullptr;
    if (first_row) state = crm::pg::make_state<crm::ConversionState>(context);
    apply_confidence(fcinfo, *state, first_row);
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
        state->skipped++;
    else
        state->add(PG_GETARG_BOOL(1), PG_GETARG_BOOL(2));
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_conversion_combine) {
    return crm::pg::combine_states<crm::ConversionState>(fcinfo, "crm.conversion_uplift");
}

CRM_FUNCTION(crm_conversion_serial) { return crm::pg::serialize_state<crm::ConversionState>(fcinfo); }

CRM_FUNCTION(crm_conversion_deserial) {
    return crm::pg::deserialize_state<crm::ConversionState>(fcinfo, "crm.conversion_uplift");
}

CRM_FUNCTION(crm_conversion_final) {
    const auto* state = state_arg<crm::ConversionState>(fcinfo, 0);
    if (state == nullptr) PG_RETURN_NULL();
    const crm::ConversionResult r = crm::conversion_uplift(*state);
    std::vector<Datum> values(13);
    std::vector<bool> nulls(13, false);
    bool n = false;
    values[0] = Int64GetDatum(r.treated_n);
    values[1] = Int64GetDatum(r.control_n);
    values[2] = Int64GetDatum(r.treated_converted);
    values[3] = Int64GetDatum(r.control_converted);
    values[4] = opt(r.treated_rate, &n), nulls[4] = n;
    values[5] = opt(r.control_rate, &n), nulls[5] = n;
    values[6] = opt(r.uplift, &n), nulls[6] = n;
    values[7] = opt(r.incremental_conversions, &n), nulls[7] = n;
    values[8] = opt(r.ci_low, &n), nulls[8] = n;
    values[9] = opt(r.ci_high, &n), nulls[9] = n;
    values[10] = opt(r.p_value, &n), nulls[10] = n;
    values[11] = Float8GetDatum(state->confidence);
    values[12] = Int64GetDatum(r.skipped);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), values, nulls);
}

CRM_FUNCTION(crm_uplift_merge_bytea) {
    return crm::pg::merge_serialised_state<crm::UpliftState>(fcinfo, "crm.campaign_uplift_combine");
}

CRM_FUNCTION(crm_conversion_merge_bytea) {
    return crm::pg::merge_serialised_state<crm::ConversionState>(fcinfo, "crm.conversion_uplift_combine");
}
