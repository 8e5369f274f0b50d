// Customer lifetime value in SQL (docs/clv.md):
//   crm.customer_summary(date, amount, as_of [, time_unit])   aggregate -> crm.customer_summary
//   crm.bgnbd_fit / crm.paretonbd_fit(frequency, recency, age) aggregates -> models
//   crm.gammagamma_fit(frequency, monetary)                     aggregate -> model
//   crm.p_alive, crm.expected_purchases, crm.expected_purchases_new_customer,
//   crm.prob_purchase, crm.expected_spend, crm.clv, crm.churn_risk   scoring
// The models are composite types (readable, storable, to_jsonb by name); the
// scorers decode a model once per call site and reuse it while the same
// model value comes in (fn_extra).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "clv_bgnbd.hpp"
#include "clv_fit_state.hpp"
#include "clv_gammagamma.hpp"
#include "clv_paretonbd.hpp"
#include "clv_purchases.hpp"
#include "clv_memo.hpp"
#include "clv_value.hpp"
#include "errors.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "datum_convert.hpp"
#include "fn_cache.hpp"
#include "partial_state.hpp"

namespace {

using crm::clv::PurchaseFitState;
using crm::clv::PurchaseHistory;
using crm::clv::SpendFitState;
using crm::pg::pg_guard;

constexpr int kModelVersion = 1;

std::int64_t date_day(DateADT d, const char* what) {
    if (DATE_NOT_FINITE(d)) crm::throw_invalid(std::string(what) + " must be a finite date, not infinity");
    return static_cast<std::int64_t>(d);  // days since 2000-01-01
}

double finite_arg(FunctionCallInfo fcinfo, int argno, const char* what) {
    const double v = PG_GETARG_FLOAT8(argno);
    if (!std::isfinite(v)) crm::throw_invalid(std::string(what) + " must be a finite number");
    return v;
}

void warn_not_converged(const char* model, const std::string& note) {
    const std::string message = std::string(model) + " fit did not converge: " + note;
    const char* m = message.c_str();
    pg_guard([m] {
        ereport(WARNING, (errmsg("%s", m), errhint("Scoring with it needs allow_unconverged => true.")));
    });
}

// The common fields of every model row after the parameters.
void put_fit_info(std::vector<Datum>& v, std::vector<bool>& null, std::size_t at, const crm::clv::FitInfo& info) {
    v[at] = Float8GetDatum(info.log_likelihood);
    null[at] = !std::isfinite(info.log_likelihood);
    v[at + 1] = Int64GetDatum(info.customers);
    v[at + 2] = Int32GetDatum(info.iterations);
    v[at + 3] = BoolGetDatum(info.converged);
}


void put_note(std::vector<Datum>& v, std::vector<bool>& null, std::size_t at, const std::string& note) {
    null[at] = note.empty();
    v[at] = null[at] ? static_cast<Datum>(0) : crm::pg::text_datum(note);
}

// ---- models as arguments --------------------------------------------------

// A model row's parameters (its first n float fields after the version) and
// whether it converged, decoded once per call site.
template <int N>
struct ModelCache {
    std::vector<std::uint8_t> raw;  // the argument's raw bytes, to notice a different model (fn_cache.hpp)
    bool decoded = false;
    double params[N] = {};
    bool converged = false;
    std::string note;
};

// Every scorer's call-site cache: its purchase model and its spend model.
struct ScorerCache {
    ModelCache<4> purchases;
    ModelCache<3> spend;
    // BG/NBD's series per (x, T) for this call site's customers (clv_memo.hpp).
    crm::clv::ClvScoringMemo memo;
    // crm.clv's time_unit: its raw argument and month length (0 until parsed).
    std::vector<std::uint8_t> unit_raw;
    double month_length = 0;
};

template <int N>
ModelCache<N>& slot(ScorerCache& c);
template <>
ModelCache<4>& slot<4>(ScorerCache& c) { return c.purchases; }
template <>
ModelCache<3>& slot<3>(ScorerCache& c) { return c.spend; }

template <int N>
const ModelCache<N>& model_arg(FunctionCallInfo fcinfo, int argno, bool allow_unconverged, const char* kind) {
    ModelCache<N>& cache = slot<N>(crm::pg::fn_cache<ScorerCache>(fcinfo));
    // Judged by the raw argument, before any detoasting: a model read from a table comes with a short
    // header, and detoasting it for every customer would cost more than scoring them.
    if (!crm::pg::same_raw_datum(fcinfo, argno, cache.raw) || !cache.decoded) {
        cache.decoded = false;
        HeapTupleHeader row = crm::pg::row_arg(fcinfo, argno);
        bool null = false;
        const Datum version = crm::pg::row_field(row, 1, &null);
        if (null || DatumGetInt32(version) != kModelVersion)
            crm::throw_invalid(std::string("the ") + kind + " has no supported version marker (expected 1)");
        for (int i = 0; i < N; ++i) {
            const Datum d = crm::pg::row_field(row, 2 + i, &null);
            const double p = null ? std::nan("") : DatumGetFloat8(d);
            if (!(p > 0) || !std::isfinite(p))
                crm::throw_invalid(std::string("the ") + kind + "'s parameters must be positive finite numbers");
            cache.params[i] = p;
        }
        const Datum converged = crm::pg::row_field(row, N + 5, &null);
        cache.converged = !null && DatumGetBool(converged);
        const Datum note = crm::pg::row_field(row, 2 * N + 6, &null);
        cache.note = null ? std::string() : crm::pg::text_from_datum(note);
        cache.decoded = true;
    }
    if (!cache.converged && !allow_unconverged)
        crm::throw_invalid(std::string("the ") + kind + " did not converge" +
                               (cache.note.empty() ? std::string() : " (" + cache.note + ")"),
                           "Refit it (more customers, another time unit), or pass allow_unconverged => true.");
    return cache;
}

crm::clv::BgNbdParams bgnbd_arg(FunctionCallInfo fcinfo, int argno, bool allow) {
    const auto& m = model_arg<4>(fcinfo, argno, allow, "BG/NBD model");
    return {m.params[0], m.params[1], m.params[2], m.params[3]};
}

crm::clv::ParetoNbdParams paretonbd_arg(FunctionCallInfo fcinfo, int argno, bool allow) {
    const auto& m = model_arg<4>(fcinfo, argno, allow, "Pareto/NBD model");
    return {m.params[0], m.params[1], m.params[2], m.params[3]};
}

crm::clv::GammaGammaParams gammagamma_arg(FunctionCallInfo fcinfo, int argno, bool allow) {
    const auto& m = model_arg<3>(fcinfo, argno, allow, "Gamma-Gamma model");
    return {m.params[0], m.params[1], m.params[2]};
}

// One customer's summary arguments (x, t_x, T): x a whole number >= 0,
// 0 <= t_x <= T, t_x = 0 when x = 0 (22023).
struct Summary {
    double x, t_x, T;
};
Summary summary_args(FunctionCallInfo fcinfo, int first) {
    const Summary s{finite_arg(fcinfo, first, "frequency"), finite_arg(fcinfo, first + 1, "recency"),
                    finite_arg(fcinfo, first + 2, "age")};
    crm::clv::validate_summary(s.x, s.t_x, s.T);
    return s;
}

double horizon_arg(FunctionCallInfo fcinfo, int argno) {
    const double t = finite_arg(fcinfo, argno, "horizon");
    if (t < 0) crm::throw_invalid("horizon must not be negative, got " + std::to_string(t));
    return t;
}

}  // namespace

// ---- the per-customer summary aggregate ------------------------------------

// crm._purchases_transfn(state, purchase_date, amount, as_of [, time_unit])
CRM_FUNCTION(crm_purchases_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.customer_summary");
    PurchaseHistory* state = crm::pg::state_arg<PurchaseHistory>(fcinfo, 0);
    if (PG_ARGISNULL(3)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "as_of must not be NULL");
    crm::clv::TimeUnit unit = crm::clv::TimeUnit::Week;  // the 3-argument form: weeks
    if (PG_NARGS() > 4) {
        if (PG_ARGISNULL(4)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "time_unit must not be NULL");
        unit = crm::clv::parse_time_unit(crm::pg::text_arg(fcinfo, 4).c_str());
    }
    const std::int64_t as_of = date_day(PG_GETARG_DATEADT(3), "as_of");
    if (state == nullptr) state = crm::pg::make_state<PurchaseHistory>(context);
    state->set_parameters(as_of, unit);
    // SQL aggregate convention: a row with a NULL date or amount is ignored.
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2)) {
        state->add(date_day(PG_GETARG_DATEADT(1), "purchase_date"), PG_GETARG_FLOAT8(2));
        crm::pg::check_state_memory(*state, "crm.customer_summary");
    }
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_purchases_combine) {
    return crm::pg::combine_states<PurchaseHistory>(fcinfo, "crm.customer_summary");
}
CRM_FUNCTION(crm_purchases_serial) { return crm::pg::serialize_state<PurchaseHistory>(fcinfo); }
CRM_FUNCTION(crm_purchases_deserial) {
    return crm::pg::deserialize_state<PurchaseHistory>(fcinfo, "crm.customer_summary");
}

CRM_FUNCTION(crm_customer_summary_final) {
    const PurchaseHistory* state = crm::pg::state_arg<PurchaseHistory>(fcinfo, 0);
    if (state == nullptr) PG_RETURN_NULL();
    const std::optional<crm::clv::CustomerSummary> s = state->summary();
    if (!s) PG_RETURN_NULL();
    std::vector<Datum> v(6);
    std::vector<bool> null(6, false);
    v[0] = Int64GetDatum(s->x);
    v[1] = Float8GetDatum(s->t_x);
    v[2] = Float8GetDatum(s->T);
    v[3] = Float8GetDatum(s->mean_spend);
    v[4] = DateADTGetDatum(static_cast<DateADT>(s->first_day));
    v[5] = DateADTGetDatum(static_cast<DateADT>(s->last_day));
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, null);
}

// ---- fits --------------------------------------------------------------------

CRM_FUNCTION(crm_clv_purchase_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.bgnbd_fit");
    PurchaseFitState* state = crm::pg::state_arg<PurchaseFitState>(fcinfo, 0);
    if (state == nullptr) state = crm::pg::make_state<PurchaseFitState>(context);
    // SQL aggregate convention: a row with a NULL is ignored.
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) && !PG_ARGISNULL(3)) {
        state->add(PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
        crm::pg::check_state_memory(*state, "crm.bgnbd_fit");
    }
    PG_RETURN_POINTER(state);
}
CRM_FUNCTION(crm_clv_purchase_combine) { return crm::pg::combine_states<PurchaseFitState>(fcinfo, "crm.bgnbd_fit"); }
CRM_FUNCTION(crm_clv_purchase_serial) { return crm::pg::serialize_state<PurchaseFitState>(fcinfo); }
CRM_FUNCTION(crm_clv_purchase_deserial) {
    return crm::pg::deserialize_state<PurchaseFitState>(fcinfo, "crm.bgnbd_fit");
}
CRM_FUNCTION(crm_clv_purchase_merge_bytea) {
    return crm::pg::merge_serialised_state<PurchaseFitState>(fcinfo, "crm.bgnbd_fit_combine");
}

CRM_FUNCTION(crm_bgnbd_final) {
    const PurchaseFitState* state = crm::pg::state_arg<PurchaseFitState>(fcinfo, 0);
    if (state == nullptr || state->customers() == 0) PG_RETURN_NULL();
    const crm::clv::BgNbdFit fit = crm::clv::fit_bgnbd(*state);
    if (!fit.info.converged) warn_not_converged("BG/NBD", fit.info.note);
    std::vector<Datum> v(14);
    std::vector<bool> null(14, false);
    v[0] = Int32GetDatum(kModelVersion);
    crm::pg::put_float8_or_null(v, null, 1, fit.params.r);
    crm::pg::put_float8_or_null(v, null, 2, fit.params.alpha);
    crm::pg::put_float8_or_null(v, null, 3, fit.params.a);
    crm::pg::put_float8_or_null(v, null, 4, fit.params.b);
    put_fit_info(v, null, 5, fit.info);
    crm::pg::put_float8_or_null(v, null, 9, fit.se.r);
    crm::pg::put_float8_or_null(v, null, 10, fit.se.alpha);
    crm::pg::put_float8_or_null(v, null, 11, fit.se.a);
    crm::pg::put_float8_or_null(v, null, 12, fit.se.b);
    put_note(v, null, 13, fit.info.note);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, null);
}

CRM_FUNCTION(crm_paretonbd_final) {
    const PurchaseFitState* state = crm::pg::state_arg<PurchaseFitState>(fcinfo, 0);
    if (state == nullptr || state->customers() == 0) PG_RETURN_NULL();
    const crm::clv::ParetoNbdFit fit = crm::clv::fit_paretonbd(*state);
    if (!fit.info.converged) warn_not_converged("Pareto/NBD", fit.info.note);
    std::vector<Datum> v(14);
    std::vector<bool> null(14, false);
    v[0] = Int32GetDatum(kModelVersion);
    crm::pg::put_float8_or_null(v, null, 1, fit.params.r);
    crm::pg::put_float8_or_null(v, null, 2, fit.params.alpha);
    crm::pg::put_float8_or_null(v, null, 3, fit.params.s);
    crm::pg::put_float8_or_null(v, null, 4, fit.params.beta);
    put_fit_info(v, null, 5, fit.info);
    crm::pg::put_float8_or_null(v, null, 9, fit.se.r);
    crm::pg::put_float8_or_null(v, null, 10, fit.se.alpha);
    crm::pg::put_float8_or_null(v, null, 11, fit.se.s);
    crm::pg::put_float8_or_null(v, null, 12, fit.se.beta);
    put_note(v, null, 13, fit.info.note);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, null);
}

CRM_FUNCTION(crm_clv_spend_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.gammagamma_fit");
    SpendFitState* state = crm::pg::state_arg<SpendFitState>(fcinfo, 0);
    if (state == nullptr) state = crm::pg::make_state<SpendFitState>(context);
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2)) {
        state->add(PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2));
        crm::pg::check_state_memory(*state, "crm.gammagamma_fit");
    }
    PG_RETURN_POINTER(state);
}
CRM_FUNCTION(crm_clv_spend_combine) { return crm::pg::combine_states<SpendFitState>(fcinfo, "crm.gammagamma_fit"); }
CRM_FUNCTION(crm_clv_spend_serial) { return crm::pg::serialize_state<SpendFitState>(fcinfo); }
CRM_FUNCTION(crm_clv_spend_deserial) {
    return crm::pg::deserialize_state<SpendFitState>(fcinfo, "crm.gammagamma_fit");
}
CRM_FUNCTION(crm_clv_spend_merge_bytea) {
    return crm::pg::merge_serialised_state<SpendFitState>(fcinfo, "crm.gammagamma_fit_combine");
}

CRM_FUNCTION(crm_gammagamma_final) {
    const SpendFitState* state = crm::pg::state_arg<SpendFitState>(fcinfo, 0);
    if (state == nullptr || (state->customers() == 0 && state->skipped() == 0)) PG_RETURN_NULL();
    if (state->customers() == 0)  // as crm.bgnbd_fit: rows, but none the model can use
        crm::throw_error(crm::ErrorKind::DataException, "cannot fit Gamma-Gamma: no customer has a repeat purchase");
    const crm::clv::GammaGammaFit fit = crm::clv::fit_gammagamma(*state);
    if (!fit.info.converged) warn_not_converged("Gamma-Gamma", fit.info.note);
    std::vector<Datum> v(12);
    std::vector<bool> null(12, false);
    v[0] = Int32GetDatum(kModelVersion);
    crm::pg::put_float8_or_null(v, null, 1, fit.params.p);
    crm::pg::put_float8_or_null(v, null, 2, fit.params.q);
    crm::pg::put_float8_or_null(v, null, 3, fit.params.gamma);
    put_fit_info(v, null, 4, fit.info);
    crm::pg::put_float8_or_null(v, null, 8, fit.se.p);
    crm::pg::put_float8_or_null(v, null, 9, fit.se.q);
    crm::pg::put_float8_or_null(v, null, 10, fit.se.gamma);
    put_note(v, null, 11, fit.info.note);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, null);
}

// ---- scoring -------------------------------------------------------------------

CRM_FUNCTION(crm_bgnbd_p_alive) {
    const auto p = bgnbd_arg(fcinfo, 0, PG_GETARG_BOOL(4));
    const Summary s = summary_args(fcinfo, 1);
    PG_RETURN_FLOAT8(crm::clv::bgnbd_probability_alive(p, s.x, s.t_x, s.T));
}
CRM_FUNCTION(crm_paretonbd_p_alive) {
    const auto p = paretonbd_arg(fcinfo, 0, PG_GETARG_BOOL(4));
    const Summary s = summary_args(fcinfo, 1);
    PG_RETURN_FLOAT8(crm::clv::paretonbd_probability_alive(p, s.x, s.t_x, s.T));
}

CRM_FUNCTION(crm_bgnbd_expected_purchases) {
    const auto p = bgnbd_arg(fcinfo, 0, PG_GETARG_BOOL(5));
    const Summary s = summary_args(fcinfo, 1);
    crm::clv::ClvScoringMemo& memo = crm::pg::fn_cache<ScorerCache>(fcinfo).memo;
    PG_RETURN_FLOAT8(crm::clv::bgnbd_conditional_expected_purchases(p, horizon_arg(fcinfo, 4), s.x, s.t_x, s.T, memo));
}
CRM_FUNCTION(crm_paretonbd_expected_purchases) {
    const auto p = paretonbd_arg(fcinfo, 0, PG_GETARG_BOOL(5));
    const Summary s = summary_args(fcinfo, 1);
    PG_RETURN_FLOAT8(crm::clv::paretonbd_conditional_expected_purchases(p, horizon_arg(fcinfo, 4), s.x, s.t_x, s.T));
}

CRM_FUNCTION(crm_bgnbd_population_purchases) {
    const auto p = bgnbd_arg(fcinfo, 0, PG_GETARG_BOOL(2));
    PG_RETURN_FLOAT8(crm::clv::bgnbd_expected_purchases(p, horizon_arg(fcinfo, 1)));
}
CRM_FUNCTION(crm_paretonbd_population_purchases) {
    const auto p = paretonbd_arg(fcinfo, 0, PG_GETARG_BOOL(2));
    PG_RETURN_FLOAT8(crm::clv::paretonbd_expected_purchases(p, horizon_arg(fcinfo, 1)));
}

CRM_FUNCTION(crm_bgnbd_prob_purchase) {
    const auto p = bgnbd_arg(fcinfo, 0, PG_GETARG_BOOL(5));
    const Summary s = summary_args(fcinfo, 1);
    PG_RETURN_FLOAT8(crm::clv::bgnbd_probability_purchase(p, horizon_arg(fcinfo, 4), s.x, s.t_x, s.T));
}
CRM_FUNCTION(crm_paretonbd_prob_purchase) {
    const auto p = paretonbd_arg(fcinfo, 0, PG_GETARG_BOOL(5));
    const Summary s = summary_args(fcinfo, 1);
    PG_RETURN_FLOAT8(crm::clv::paretonbd_probability_purchase(p, horizon_arg(fcinfo, 4), s.x, s.t_x, s.T));
}

CRM_FUNCTION(crm_gammagamma_expected_spend) {
    const auto p = gammagamma_arg(fcinfo, 0, PG_GETARG_BOOL(3));
    const double x = finite_arg(fcinfo, 1, "frequency");
    const double m = finite_arg(fcinfo, 2, "monetary");
    crm::clv::validate_spend(x, m);
    PG_RETURN_FLOAT8(crm::clv::gammagamma_expected_spend(p, x, m));
}

namespace {
// The month length of the time_unit argument, parsed once per call site and value.
double month_length_arg(FunctionCallInfo fcinfo, int argno) {
    ScorerCache& cache = crm::pg::fn_cache<ScorerCache>(fcinfo);
    if (!crm::pg::same_raw_datum(fcinfo, argno, cache.unit_raw) || !(cache.month_length > 0)) {
        cache.month_length = 0;
        cache.month_length =
            crm::clv::month_length(crm::clv::parse_time_unit(crm::pg::text_arg(fcinfo, argno).c_str()));
    }
    return cache.month_length;
}

// crm.clv(model, spend_model, frequency, recency, age, monetary, months, discount_rate, margin, time_unit, allow)
template <typename Params>
Datum clv_of(FunctionCallInfo fcinfo, const Params& p) {
    const bool allow = PG_GETARG_BOOL(10);
    const auto spend_model = gammagamma_arg(fcinfo, 1, allow);
    const Summary s = summary_args(fcinfo, 2);
    const double m = finite_arg(fcinfo, 5, "monetary");
    crm::clv::validate_spend(s.x, m);
    crm::clv::ClvOptions o;
    o.months = PG_GETARG_INT32(6);
    o.monthly_discount = finite_arg(fcinfo, 7, "discount_rate");
    o.margin = finite_arg(fcinfo, 8, "margin");
    o.month_length = month_length_arg(fcinfo, 9);
    const double spend = crm::clv::gammagamma_expected_spend(spend_model, s.x, m);
    if constexpr (std::is_same_v<Params, crm::clv::BgNbdParams>) {
        crm::clv::ClvScoringMemo& memo = crm::pg::fn_cache<ScorerCache>(fcinfo).memo;
        PG_RETURN_FLOAT8(crm::clv::customer_lifetime_value(p, spend, s.x, s.t_x, s.T, o, memo));
    } else {
        PG_RETURN_FLOAT8(crm::clv::customer_lifetime_value(p, spend, s.x, s.t_x, s.T, o));
    }
}
}  // namespace

CRM_FUNCTION(crm_bgnbd_clv) { return clv_of(fcinfo, bgnbd_arg(fcinfo, 0, PG_GETARG_BOOL(10))); }
CRM_FUNCTION(crm_paretonbd_clv) { return clv_of(fcinfo, paretonbd_arg(fcinfo, 0, PG_GETARG_BOOL(10))); }

CRM_FUNCTION(crm_churn_risk) {
    crm::clv::ChurnThresholds t;
    t.high_alive_below = PG_GETARG_FLOAT8(2);
    t.medium_alive_below = PG_GETARG_FLOAT8(3);
    t.medium_purchases_below = PG_GETARG_FLOAT8(4);
    const crm::clv::ChurnRisk risk = crm::clv::churn_risk(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), t);
    return crm::pg::text_datum(crm::clv::churn_risk_name(risk));
}
