// Cold chain: Newton warming/cooling fits, breach forecasts and the standard
// measures, as aggregates over (timestamp, temperature) readings:
//   crm.temp_fit(ts, temperature [, ambient])                 -> crm.temp_model
//   crm.time_above(ts, temperature, limit) / crm.time_below    -> interval
//   crm.mean_kinetic_temperature(ts, temperature [, kJ/mol])  -> float8
//   crm._cold_chain_status(ts, temperature, upper, lower, horizon s, as_of s) -> crm.cold_chain_status
// and scalar functions on a model: crm.temp_predict, crm.temp_at,
// crm.temp_breach_time, crm.temp_time_to_breach.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cold_chain.hpp"
#include "errors.hpp"
#include "series_accumulator.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "context_object.hpp"
#include "datum_convert.hpp"
#include "fn_cache.hpp"
#include "partial_state.hpp"
#include "series_batches.hpp"
#include "table_reader.hpp"

namespace {

using crm::SeriesAccumulator;
using crm::pg::pg_guard;

constexpr int kModelVersion = 1;
constexpr double kUsecPerSec = 1e6;

// timestamptz (microseconds since 2000-01-01) <-> seconds as double
double ts_seconds(TimestampTz ts) { return static_cast<double>(ts) / kUsecPerSec; }
TimestampTz seconds_ts(double s) {
    const double us = std::round(s * kUsecPerSec);
    if (!(us > static_cast<double>(MIN_TIMESTAMP) && us < static_cast<double>(END_TIMESTAMP)))
        crm::throw_error(crm::ErrorKind::OutOfRange, "predicted time is outside the timestamp range");
    return static_cast<TimestampTz>(us);
}

// Seconds in an interval, as EXTRACT(epoch FROM interval) counts them.
double interval_seconds(const Interval* iv) {
    const double days = static_cast<double>(DAYS_PER_YEAR) * (iv->month / MONTHS_PER_YEAR) +
                        static_cast<double>(DAYS_PER_MONTH) * (iv->month % MONTHS_PER_YEAR) + iv->day;
    return static_cast<double>(iv->time) / kUsecPerSec + days * SECS_PER_DAY;
}

Datum seconds_interval(double seconds) {
    if (!std::isfinite(seconds) || std::fabs(seconds) > 9.0e12)
        crm::throw_error(crm::ErrorKind::OutOfRange, "duration is outside the interval range");
    const auto usec = static_cast<TimeOffset>(std::llround(seconds * kUsecPerSec));
    return pg_guard([usec] {
        auto* iv = static_cast<Interval*>(palloc0(sizeof(Interval)));
        iv->time = usec;
        return IntervalPGetDatum(iv);
    });
}

// The readings of a state, or nothing when there are none.
std::vector<crm::Reading> readings_of(const SeriesAccumulator* state) {
    if (state == nullptr) return {};
    crm::pg::settle(state);
    return state->series().sorted_deduplicated();
}

double parameter(const SeriesAccumulator* state, std::size_t i) {
    return state != nullptr && i < state->parameters().size() ? state->parameters()[i] : std::nan("");
}

// The crm.temp_model row of a fit.
Datum model_row(TupleDesc desc, const crm::CoolingFit& fit) {
    std::vector<Datum> v(10);
    std::vector<bool> null(10, false);
    v[0] = Int32GetDatum(kModelVersion);
    const auto put = [&](int i, double x) {
        null[i] = !std::isfinite(x);
        v[i] = null[i] ? static_cast<Datum>(0) : Float8GetDatum(x);
    };
    put(1, fit.t0);
    put(2, fit.ambient);
    null[3] = !(std::isfinite(fit.tau) && fit.tau > 0);
    v[3] = null[3] ? static_cast<Datum>(0) : seconds_interval(fit.tau);
    null[4] = !std::isfinite(fit.start);
    v[4] = null[4] ? static_cast<Datum>(0) : TimestampTzGetDatum(seconds_ts(fit.start));
    put(5, fit.rmse);
    v[6] = Int64GetDatum(fit.n);
    v[7] = BoolGetDatum(fit.converged);
    v[8] = BoolGetDatum(fit.ambient_fixed);
    null[9] = fit.note.empty();
    v[9] = null[9] ? static_cast<Datum>(0) : crm::pg::text_datum(fit.note);
    return crm::pg::make_row(desc, v, null);
}

// A crm.temp_model argument as a fit; nullopt unless it converged with finite parameters.
std::optional<crm::CoolingFit> model_arg(FunctionCallInfo fcinfo, int argno) {
    HeapTupleHeader row = crm::pg::row_arg(fcinfo, argno);
    bool null = false;
    const Datum version = crm::pg::row_field(row, 1, &null);
    if (null || DatumGetInt32(version) < 1 || DatumGetInt32(version) > kModelVersion)
        crm::throw_invalid("model has no supported version marker (expected 1..." + std::to_string(kModelVersion) +
                           ")");
    const Datum converged = crm::pg::row_field(row, 8, &null);
    if (null || !DatumGetBool(converged)) return std::nullopt;
    crm::CoolingFit fit;
    bool n1, n2, n3, n4;
    const Datum t0 = crm::pg::row_field(row, 2, &n1);
    const Datum ambient = crm::pg::row_field(row, 3, &n2);
    const Datum tau = crm::pg::row_field(row, 4, &n3);
    const Datum start = crm::pg::row_field(row, 5, &n4);
    if (n1 || n2 || n3 || n4) crm::throw_invalid("a converged model must have t0, ambient, tau and start_time");
    fit.t0 = DatumGetFloat8(t0);
    fit.ambient = DatumGetFloat8(ambient);
    fit.tau = interval_seconds(DatumGetIntervalP(tau));
    fit.start = ts_seconds(DatumGetTimestampTz(start));
    fit.converged = true;
    if (!(fit.tau > 0) || !std::isfinite(fit.t0) || !std::isfinite(fit.ambient))
        crm::throw_invalid("model tau must be positive and t0, ambient finite");
    return fit;
}

}  // namespace

// The row descriptors of a final function's result (and of the composite
// in column nested_column, when >= 0), looked up once per query in the call
// site's memory: a grouped query calls the final function once per group.
struct ResultDescs {
    TupleDesc result = nullptr;
    TupleDesc nested = nullptr;
};

static const ResultDescs& result_descs(FunctionCallInfo fcinfo, int nested_column = -1) {
    ResultDescs& cached = crm::pg::fn_cache<ResultDescs>(fcinfo);
    if (cached.result == nullptr) {
        MemoryContext query_memory = fcinfo->flinfo->fn_mcxt;
        cached = pg_guard([fcinfo, nested_column, query_memory] {
            const MemoryContext old_context = MemoryContextSwitchTo(query_memory);
            ResultDescs d;
            TupleDesc desc = nullptr;
            if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
                ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                                errmsg("function returning a row called in a context that cannot accept it")));
            d.result = BlessTupleDesc(desc);
            if (nested_column >= 0)
                d.nested = BlessTupleDesc(lookup_rowtype_tupdesc_copy(TupleDescAttr(desc, nested_column)->atttypid, -1));
            MemoryContextSwitchTo(old_context);
            return d;
        });
    }
    return cached;
}

// ---- aggregates --------------------------------------------------------

// Which cold-chain aggregate is calling (every one shares the transition
// function): read from the Aggref once, when a state is created.
static crm::SeriesKind calling_kind(FunctionCallInfo fcinfo) {
    const char* name = pg_guard([fcinfo]() -> const char* {
        const Aggref* aggref = AggGetAggref(fcinfo);
        return aggref != nullptr ? get_func_name(aggref->aggfnoid) : nullptr;
    });
    return name != nullptr ? crm::series_kind_of_aggregate(name) : crm::SeriesKind::Unknown;
}

static SeriesAccumulator* new_series_state(FunctionCallInfo fcinfo, MemoryContext context) {
    SeriesAccumulator* state = crm::pg::make_state<SeriesAccumulator>(context);
    state->set_kind(calling_kind(fcinfo));
    return state;
}

// The transition of every cold-chain aggregate; Temperature reads argument 2
// (a float8, or a numeric converted as the cast would, minus the cast's text
// round trip: a table of numeric temperatures made by numeric arithmetic
// holds 20 digits and more, and the cast was most of a row's cost).
template <double (*Temperature)(FunctionCallInfo)>
static Datum series_transfn(FunctionCallInfo fcinfo) {
    SeriesAccumulator* state = crm::pg::state_arg<SeriesAccumulator>(fcinfo, 0);
    // An internal state only ever comes from the aggregate machinery; without one, this checks that
    // it is called as an aggregate and makes the state in the aggregate's context.
    if (state == nullptr) {
        MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm cold-chain aggregate");
        state = new_series_state(fcinfo, context);
        state->set_batch(crm::pg::reading_batch(fcinfo, context));
    }
    // The aggregates have at most four parameters after (ts, temperature); on
    // the stack, as this runs for every row.
    static const char* const names[] = {"the third argument", "the fourth argument", "the fifth argument",
                                        "the sixth argument"};
    constexpr int kMaxParameters = sizeof names / sizeof names[0];
    double parameters[kMaxParameters];
    const int n_parameters = std::min(PG_NARGS() - 3, kMaxParameters);
    for (int i = 0; i < n_parameters; ++i)
        parameters[i] = PG_ARGISNULL(3 + i) ? std::nan("") : PG_GETARG_FLOAT8(3 + i);
    state->set_parameters(parameters, static_cast<std::size_t>(std::max(n_parameters, 0)), names);
    // SQL aggregate convention: a reading with a NULL time or temperature is ignored.
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2)) {
        const TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
        if (TIMESTAMP_NOT_FINITE(ts)) crm::throw_invalid("reading time must be finite, not infinity");
        crm::ReadingBatch* batch = state->batch();
        if (batch == nullptr) {
            if (state->series().add(ts_seconds(ts), Temperature(fcinfo)))  // memory grows only with a new block
                crm::pg::check_state_memory(*state, "a crm cold-chain aggregate");
        } else if (batch->push(state, ts_seconds(ts), Temperature(fcinfo))) {
            crm::pg::settle(state);  // the batch is full
        }
    }
    PG_RETURN_POINTER(state);
}

static double float8_temperature(FunctionCallInfo fcinfo) { return PG_GETARG_FLOAT8(2); }
static double numeric_temperature(FunctionCallInfo fcinfo) {
    const Datum d = PG_GETARG_DATUM(2);
    double value;
    if (crm::pg::numeric_to_double_fast(d, &value)) return value;
    return pg_guard([d] { return crm::pg::numeric_to_double(d); });  // the cast: NaN, toasted, out of range
}

CRM_FUNCTION(crm_series_transfn) { return series_transfn<float8_temperature>(fcinfo); }
CRM_FUNCTION(crm_series_transfn_numeric) { return series_transfn<numeric_temperature>(fcinfo); }

CRM_FUNCTION(crm_series_combine) {
    crm::pg::settle(crm::pg::state_arg<SeriesAccumulator>(fcinfo, 0));
    crm::pg::settle(crm::pg::state_arg<SeriesAccumulator>(fcinfo, 1));
    return crm::pg::combine_states<SeriesAccumulator>(fcinfo, "crm cold-chain aggregate");
}

// SERIALFUNC of every cold-chain aggregate and FINALFUNC of their _partial
// forms. As a final function (PostgreSQL's curperagg is set only then) it
// writes the kind of the _partial aggregate that calls it: PostgreSQL shares
// one state between aggregates with the same inputs, and the state carries
// the kind of the first.
CRM_FUNCTION(crm_series_serial) {
    const SeriesAccumulator* state = crm::pg::state_arg<SeriesAccumulator>(fcinfo, 0);
    crm::pg::settle(state);
    const bool as_final = fcinfo->context != nullptr && IsA(fcinfo->context, AggState) &&
                          reinterpret_cast<AggState*>(fcinfo->context)->curperagg != nullptr;
    const crm::SeriesKind kind = as_final ? calling_kind(fcinfo) : crm::SeriesKind::Unknown;
    return crm::pg::bytea_datum(state->serialize_as(kind));
}

CRM_FUNCTION(crm_series_deserial) {
    return crm::pg::deserialize_state<SeriesAccumulator>(fcinfo, "crm cold-chain aggregate");
}

CRM_FUNCTION(crm_temp_fit_final) {
    const SeriesAccumulator* state = crm::pg::state_arg<SeriesAccumulator>(fcinfo, 0);
    std::vector<crm::Reading> readings = readings_of(state);
    if (readings.empty()) PG_RETURN_NULL();
    const double ambient = parameter(state, 0);
    const crm::CoolingFit fit = crm::fit_cooling_sorted(
        std::move(readings), std::isfinite(ambient) ? std::optional<double>(ambient) : std::nullopt);
    return model_row(result_descs(fcinfo).result, fit);
}

static Datum time_beyond_final(FunctionCallInfo fcinfo, bool above) {
    const SeriesAccumulator* state = crm::pg::state_arg<SeriesAccumulator>(fcinfo, 0);
    const std::vector<crm::Reading> readings = readings_of(state);
    const double limit = parameter(state, 0);
    if (readings.empty() || std::isnan(limit)) PG_RETURN_NULL();
    return seconds_interval(crm::time_beyond(readings, limit, above));
}

CRM_FUNCTION(crm_time_above_final) { return time_beyond_final(fcinfo, true); }
CRM_FUNCTION(crm_time_below_final) { return time_beyond_final(fcinfo, false); }

CRM_FUNCTION(crm_mkt_final) {
    const SeriesAccumulator* state = crm::pg::state_arg<SeriesAccumulator>(fcinfo, 0);
    const std::vector<crm::Reading> readings = readings_of(state);
    if (readings.empty()) PG_RETURN_NULL();
    const double kj = state->parameters().empty() ? 83.144 : parameter(state, 0);
    if (std::isnan(kj)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "activation_energy must not be NULL");
    if (!(kj > 0) || !std::isfinite(kj))
        crm::throw_invalid("activation_energy must be a positive number of kJ/mol");
    PG_RETURN_FLOAT8(crm::mean_kinetic_temperature(readings, kj * 1000.0));
}

// Status of one shipment for crm.cold_chain_alerts. Parameters: upper limit,
// lower limit (NaN: none), horizon (seconds), as_of (seconds).
CRM_FUNCTION(crm_cold_chain_status_final) {
    const SeriesAccumulator* state = crm::pg::state_arg<SeriesAccumulator>(fcinfo, 0);
    const std::vector<crm::Reading> readings = readings_of(state);
    if (readings.empty()) PG_RETURN_NULL();
    const double upper = parameter(state, 0), lower = parameter(state, 1);
    const double horizon = parameter(state, 2), as_of = parameter(state, 3);
    const crm::Reading& last = readings.back();
    const crm::CoolingFit fit = crm::fit_cooling_sorted(readings);

    const crm::ShipmentStatus status = crm::shipment_status(fit, last, upper, lower, as_of, horizon);
    const std::optional<double>& breach_at = status.breach_at;

    const ResultDescs& descs = result_descs(fcinfo, 4);
    const TupleDesc desc = descs.result;
    const TupleDesc model_desc = descs.nested;
    std::vector<Datum> v(10);
    std::vector<bool> null(10, false);
    v[0] = Int64GetDatum(static_cast<std::int64_t>(readings.size()));
    v[1] = TimestampTzGetDatum(seconds_ts(readings.front().t));
    v[2] = TimestampTzGetDatum(seconds_ts(last.t));
    v[3] = Float8GetDatum(last.temperature);
    v[4] = model_row(model_desc, fit);
    v[5] = crm::pg::text_datum(crm::shipment_state_name(status.state));
    null[6] = !breach_at;
    v[6] = breach_at ? TimestampTzGetDatum(seconds_ts(*breach_at)) : static_cast<Datum>(0);
    null[7] = !std::isfinite(upper);
    v[7] = null[7] ? static_cast<Datum>(0) : seconds_interval(crm::time_beyond(readings, upper, true));
    null[8] = !std::isfinite(lower);
    v[8] = null[8] ? static_cast<Datum>(0) : seconds_interval(crm::time_beyond(readings, lower, false));
    v[9] = Float8GetDatum(crm::mean_kinetic_temperature(readings));
    return crm::pg::make_row(desc, v, null);
}

// ---- scalar functions ----------------------------------------------------

// crm.temp_predict(t0, ambient, tau interval, elapsed interval)
CRM_FUNCTION(crm_temp_predict) {
    const double tau = interval_seconds(PG_GETARG_INTERVAL_P(2));
    if (!(tau > 0)) crm::throw_invalid("tau must be a positive interval");
    PG_RETURN_FLOAT8(crm::predict_temperature(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), tau,
                                              interval_seconds(PG_GETARG_INTERVAL_P(3))));
}

// crm.temp_at(model, ts): NULL unless the model converged.
CRM_FUNCTION(crm_temp_at) {
    const auto fit = model_arg(fcinfo, 0);
    if (!fit) PG_RETURN_NULL();
    const TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
    if (TIMESTAMP_NOT_FINITE(ts)) crm::throw_invalid("ts must be a finite timestamp");
    PG_RETURN_FLOAT8(crm::predict_at(*fit, ts_seconds(ts)));
}

// crm.temp_breach_time(model, limit [, from]): first time at or after `from`
// (default: the model's start) the curve reaches the limit; NULL if never.
CRM_FUNCTION(crm_temp_breach_time) {
    const auto fit = model_arg(fcinfo, 0);
    if (!fit) PG_RETURN_NULL();
    const double limit = PG_GETARG_FLOAT8(1);
    if (!std::isfinite(limit)) crm::throw_invalid("limit must be a finite number");
    std::optional<double> from;
    if (PG_NARGS() > 2) {
        const TimestampTz ts = PG_GETARG_TIMESTAMPTZ(2);
        if (TIMESTAMP_NOT_FINITE(ts)) crm::throw_invalid("from must be a finite timestamp");
        from = ts_seconds(ts);
    }
    const auto t = crm::breach_time(*fit, limit, from);
    if (!t) PG_RETURN_NULL();
    PG_RETURN_TIMESTAMPTZ(seconds_ts(*t));
}

// crm.temp_time_to_breach(model, limit, from): breach time minus from (zero
// when already breached), NULL if it never happens.
CRM_FUNCTION(crm_temp_time_to_breach) {
    const auto fit = model_arg(fcinfo, 0);
    if (!fit) PG_RETURN_NULL();
    const double limit = PG_GETARG_FLOAT8(1);
    if (!std::isfinite(limit)) crm::throw_invalid("limit must be a finite number");
    const TimestampTz ts = PG_GETARG_TIMESTAMPTZ(2);
    if (TIMESTAMP_NOT_FINITE(ts)) crm::throw_invalid("from must be a finite timestamp");
    const double from = ts_seconds(ts);
    const auto t = crm::breach_time(*fit, limit, from);
    if (!t) PG_RETURN_NULL();
    return seconds_interval(*t - from);
}

// The _combine aggregates: the state takes the kind of the calling aggregate,
// so a partial state of another aggregate is refused (22023).
CRM_FUNCTION(crm_series_merge_bytea) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm cold-chain _combine aggregate");
    if (PG_ARGISNULL(0)) {
        SeriesAccumulator* state = new_series_state(fcinfo, context);
        if (PG_ARGISNULL(1)) PG_RETURN_POINTER(state);
        const crm::pg::ByteSpan bytes = crm::pg::bytea_arg(fcinfo, 1);
        state->merge(SeriesAccumulator::deserialize(bytes.data, bytes.size));
        crm::pg::check_state_memory(*state, "a crm cold-chain _combine aggregate");
        PG_RETURN_POINTER(state);
    }
    return crm::pg::merge_serialised_state<SeriesAccumulator>(fcinfo, "crm cold-chain _combine aggregate");
}
