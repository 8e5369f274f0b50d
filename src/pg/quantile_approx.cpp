// Approximate quantiles with the mergeable KLL sketch (core: quantile_sketch):
//   crm.rfm_thresholds_approx(recency, frequency, monetary [, bins]) -> crm.rfm_thresholds
//   crm.quantile_approx(value, fraction)                             -> double precision
// and their _partial / _combine forms for shards. The states have a fixed
// size (a few kilobytes), so parallel workers ship sketches, not values.
#include "sketch_states.hpp"

#include "bridge.hpp"
#include "context_object.hpp"
#include "partial_state.hpp"
#include "rfm_thresholds_row.hpp"

namespace {

using crm::QuantileApproxAccumulator;
using crm::RfmSketchAccumulator;

constexpr const char* kRfmApprox = "crm.rfm_thresholds_approx";
constexpr const char* kQuantileApprox = "crm.quantile_approx";

}  // namespace

CRM_FUNCTION(crm_rfm_thresholds_approx_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, kRfmApprox);
    RfmSketchAccumulator* state = crm::pg::state_arg<RfmSketchAccumulator>(fcinfo, 0);
    const int bins = PG_NARGS() > 4 ? (PG_ARGISNULL(4) ? -1 : PG_GETARG_INT32(4)) : 5;
    if (bins == -1) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "bins must not be NULL");
    // SQL aggregate convention: rows with a NULL input are ignored.
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3)) {
        if (state == nullptr) PG_RETURN_NULL();
        PG_RETURN_POINTER(state);
    }
    if (state == nullptr) state = crm::pg::make_state<RfmSketchAccumulator>(context);
    state->add(bins, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_rfm_thresholds_approx_combine) {
    return crm::pg::combine_states<RfmSketchAccumulator>(fcinfo, kRfmApprox);
}

CRM_FUNCTION(crm_rfm_thresholds_approx_serial) { return crm::pg::serialize_state<RfmSketchAccumulator>(fcinfo); }

CRM_FUNCTION(crm_rfm_thresholds_approx_deserial) {
    return crm::pg::deserialize_state<RfmSketchAccumulator>(fcinfo, kRfmApprox);
}

CRM_FUNCTION(crm_rfm_thresholds_approx_merge_bytea) {
    return crm::pg::merge_serialised_state<RfmSketchAccumulator>(fcinfo, "crm.rfm_thresholds_approx_combine");
}

CRM_FUNCTION(crm_rfm_thresholds_approx_final) {
    const RfmSketchAccumulator* state = crm::pg::state_arg<RfmSketchAccumulator>(fcinfo, 0);
    if (state == nullptr || state->bins == 0) PG_RETURN_NULL();
    return crm::pg::rfm_thresholds_row(fcinfo, state->thresholds());
}

// crm.quantile_approx(value, fraction): a NULL value is skipped; a NULL fraction is an error.
CRM_FUNCTION(crm_quantile_approx_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, kQuantileApprox);
    QuantileApproxAccumulator* state = crm::pg::state_arg<QuantileApproxAccumulator>(fcinfo, 0);
    if (PG_ARGISNULL(2)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "fraction must not be NULL");
    if (PG_ARGISNULL(1)) {
        if (state == nullptr) PG_RETURN_NULL();
        PG_RETURN_POINTER(state);
    }
    if (state == nullptr) state = crm::pg::make_state<QuantileApproxAccumulator>(context);
    state->add(PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(1));
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_quantile_approx_combine) {
    return crm::pg::combine_states<QuantileApproxAccumulator>(fcinfo, kQuantileApprox);
}

CRM_FUNCTION(crm_quantile_approx_serial) { return crm::pg::serialize_state<QuantileApproxAccumulator>(fcinfo); }

CRM_FUNCTION(crm_quantile_approx_deserial) {
    return crm::pg::deserialize_state<QuantileApproxAccumulator>(fcinfo, kQuantileApprox);
}

CRM_FUNCTION(crm_quantile_approx_merge_bytea) {
    return crm::pg::merge_serialised_state<QuantileApproxAccumulator>(fcinfo, "crm.quantile_approx_combine");
}

CRM_FUNCTION(crm_quantile_approx_final) {
    const QuantileApproxAccumulator* state = crm::pg::state_arg<QuantileApproxAccumulator>(fcinfo, 0);
    if (state == nullptr || state->sketch.count() == 0) PG_RETURN_NULL();
    PG_RETURN_FLOAT8(state->result());
}
