// Survey KPIs in SQL (docs/kpis.md):
//   crm.nps(score [, confidence])   aggregate -> crm.nps_result
//   crm.csat(score [, confidence])  aggregate -> crm.csat_result
// Parallel, with a state of one count per possible answer.
#include <cmath>
#include <vector>

#include "errors.hpp"
#include "survey_scores.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "partial_state.hpp"

namespace {

using crm::SurveyCounts;

Datum transition(FunctionCallInfo fcinfo, crm::SurveyScale scale, const char* name) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, name);
    SurveyCounts* state = crm::pg::state_arg<SurveyCounts>(fcinfo, 0);
    // Only NULL answers so far: keep no state, so the result is NULL as for avg().
    if (state == nullptr && PG_ARGISNULL(1)) PG_RETURN_NULL();
    if (state == nullptr) state = crm::pg::make_in_context<SurveyCounts>(context, scale);
    if (PG_NARGS() > 2) {
        if (PG_ARGISNULL(2)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "confidence must not be NULL");
        state->set_confidence(PG_GETARG_FLOAT8(2));
    }
    if (!PG_ARGISNULL(1)) state->add(PG_GETARG_FLOAT8(1));  // NULL answers are skipped
    PG_RETURN_POINTER(state);
}


}  // namespace

CRM_FUNCTION(crm_nps_transfn) { return transition(fcinfo, crm::SurveyScale::Nps, "crm.nps"); }
CRM_FUNCTION(crm_csat_transfn) { return transition(fcinfo, crm::SurveyScale::Csat, "crm.csat"); }
CRM_FUNCTION(crm_survey_combine) { return crm::pg::combine_states<SurveyCounts>(fcinfo, "crm.nps"); }
CRM_FUNCTION(crm_survey_serial) { return crm::pg::serialize_state<SurveyCounts>(fcinfo); }
CRM_FUNCTION(crm_survey_deserial) { return crm::pg::deserialize_state<SurveyCounts>(fcinfo, "crm.nps"); }

CRM_FUNCTION(crm_nps_final) {
    const SurveyCounts* state = crm::pg::state_arg<SurveyCounts>(fcinfo, 0);
    // Unknown scale: an empty state (a combine that got only NULL partial states).
    if (state == nullptr || state->scale() == crm::SurveyScale::Unknown) PG_RETURN_NULL();
    const crm::NpsResult r = crm::nps_result(*state, state->confidence());
    std::vector<Datum> v(7);
    std::vector<bool> null(7, false);
    v[0] = Int64GetDatum(r.responses);
    v[1] = Int64GetDatum(r.promoters);
    v[2] = Int64GetDatum(r.passives);
    v[3] = Int64GetDatum(r.detractors);
    crm::pg::put_float8_or_null(v, null, 4, r.nps);
    crm::pg::put_float8_or_null(v, null, 5, r.ci_low);
    crm::pg::put_float8_or_null(v, null, 6, r.ci_high);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, null);
}

CRM_FUNCTION(crm_csat_final) {
    const SurveyCounts* state = crm::pg::state_arg<SurveyCounts>(fcinfo, 0);
    if (state == nullptr || state->scale() == crm::SurveyScale::Unknown) PG_RETURN_NULL();
    const crm::CsatResult r = crm::csat_result(*state, state->confidence());
    std::vector<Datum> v(5);
    std::vector<bool> null(5, false);
    v[0] = Int64GetDatum(r.responses);
    v[1] = Int64GetDatum(r.satisfied);
    crm::pg::put_float8_or_null(v, null, 2, r.csat);
    crm::pg::put_float8_or_null(v, null, 3, r.ci_low);
    crm::pg::put_float8_or_null(v, null, 4, r.ci_high);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, null);
}

CRM_FUNCTION(crm_survey_merge_bytea) {
    return crm::pg::merge_serialised_state<SurveyCounts>(fcinfo, "crm.nps_combine / crm.csat_combine");
}
