// crm._clv_analyze_scan(orders regclass, customer_col name, date_col name, amount_col name, as_of date,
//                       time_unit text, months integer, discount_rate float8, margin float8, horizon float8)
//
// The direct path of crm.clv_analyze_typed (sql/install/clv.sql): reads the
// orders table itself (table_reader.hpp) and runs the summaries, both fits and
// the scoring in the core (clv_analysis.hpp), returning exactly the rows of the
// function's SQL formulation. It returns no rows when it cannot be sure of
// that, and the plpgsql caller then runs the SQL, which also reports every
// error and warning: the conditions of a direct read; an integer customer key;
// a date, timestamp or timestamptz order column with finite dates; an
// integer, real, double precision or numeric amount, finite and >= 0; fits
// that converge to finite parameters; anything the core refuses (it would
// raise the same error in SQL). An empty table gives no rows either way.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <new>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clv_analysis.hpp"
#include "clv_purchases.hpp"
#include "errors.hpp"

#include "bridge.hpp"
#include "datum_convert.hpp"
#include "settings.hpp"
#include "table_reader.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "utils/datetime.h"
}

namespace {

using crm::pg::pg_guard;

constexpr int kBatchRows = 4096;
constexpr int kThreads = 2;

// ---- C only from here to the entry point: runs under pg_guard ----

struct Columns {
    AttrNumber key, date, amount;
    Oid key_type, date_type, amount_type;
};

struct Batch {
    std::int64_t* keys;
    std::int64_t* days;
    double* amounts;
    int rows;
};

// The day of `column::date` (days since 2000-01-01; a timestamptz's local
// date in the session's TimeZone), or false for what the SQL path must judge.
bool day_of(Datum d, Oid type, std::int64_t* out) {
    if (type == DATEOID) {
        const DateADT v = DatumGetDateADT(d);
        if (DATE_NOT_FINITE(v)) return false;
        *out = v;
        return true;
    }
    const Timestamp t = DatumGetTimestamp(d);
    if (TIMESTAMP_NOT_FINITE(t) || !crm::pg::timestamp_safely_inside(t)) return false;
    if (type == TIMESTAMPOID) {
        *out = t / USECS_PER_DAY - ((t % USECS_PER_DAY) < 0 ? 1 : 0);
        return true;
    }
    pg_tm tm;
    fsec_t fsec;
    int tz;
    if (timestamp2tm(t, &tz, &tm, &fsec, nullptr, nullptr) != 0) return false;
    *out = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
    return true;
}

// `column::double precision`, or false for an amount the SQL path must judge
// (NaN, infinite, negative: the summary refuses them with an error).
bool amount_of(Datum d, Oid type, double* out) {
    switch (type) {
        case NUMERICOID: *out = crm::pg::numeric_to_double(d); break;
        case INT8OID: *out = static_cast<double>(DatumGetInt64(d)); break;
        case INT4OID: *out = DatumGetInt32(d); break;
        case INT2OID: *out = DatumGetInt16(d); break;
        case FLOAT4OID: *out = DatumGetFloat4(d); break;
        default: *out = DatumGetFloat8(d); break;
    }
    return std::isfinite(*out) && *out >= 0.0;
}

// One batch (crm::pg::fill_direct_batch): rows with a NULL key, date or
// amount are skipped, as the SQL's WHERE ... IS NOT NULL.
int fill_batch(crm::pg::DirectTable* table, const Columns* c, Batch* b) {
    const int k = c->key - 1, d = c->date - 1, a = c->amount - 1;
    const auto row = [c, b, k, d, a](const Datum* v, const bool* null, int r) {
        if (null[k] || null[d] || null[a]) return crm::pg::DirectRow::Skipped;
        if (!day_of(v[d], c->date_type, &b->days[r]) || !amount_of(v[a], c->amount_type, &b->amounts[r]))
            return crm::pg::DirectRow::Refused;
        b->keys[r] = c->key_type == INT8OID   ? DatumGetInt64(v[k])
                     : c->key_type == INT4OID ? DatumGetInt32(v[k])
                                              : DatumGetInt16(v[k]);
        return crm::pg::DirectRow::Taken;
    };
    return crm::pg::fill_direct_batch(table, kBatchRows, &b->rows, row);
}

bool resolve_columns(Oid relid, const char* key, const char* date, const char* amount, Columns* c) {
    if (get_rel_relkind(relid) == '\0') return false;
    c->key = crm::pg::user_column(relid, key, &c->key_type);
    c->date = crm::pg::user_column(relid, date, &c->date_type);
    c->amount = crm::pg::user_column(relid, amount, &c->amount_type);
    if (c->key == InvalidAttrNumber || c->date == InvalidAttrNumber || c->amount == InvalidAttrNumber) return false;
    if (c->key_type != INT2OID && c->key_type != INT4OID && c->key_type != INT8OID) return false;
    if (c->date_type != DATEOID && c->date_type != TIMESTAMPOID && c->date_type != TIMESTAMPTZOID) return false;
    return c->amount_type == NUMERICOID || c->amount_type == INT2OID || c->amount_type == INT4OID ||
           c->amount_type == INT8OID || c->amount_type == FLOAT4OID || c->amount_type == FLOAT8OID;
}

// The planner's row estimate of the table (pg_class.reltuples), 0 when unknown.
double estimated_rows(Oid relid) {
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tuple)) return 0;
    const double rows = ((Form_pg_class)GETSTRUCT(tuple))->reltuples;
    ReleaseSysCache(tuple);
    return rows > 0 ? rows : 0;
}

struct Output {
    const std::int64_t* keys;
    const std::optional<crm::clv::CustomerSummary>* summaries;
    const crm::clv::CustomerClv* scores;
    std::size_t count;
    Tuplestorestate* store;
    TupleDesc desc;
};

void put_rows(const Output* out) {
    const Datum risk_names[3] = {CStringGetTextDatum(crm::clv::churn_risk_name(crm::clv::ChurnRisk::Low)),
                                 CStringGetTextDatum(crm::clv::churn_risk_name(crm::clv::ChurnRisk::Medium)),
                                 CStringGetTextDatum(crm::clv::churn_risk_name(crm::clv::ChurnRisk::High))};
    for (std::size_t i = 0; i < out->count; ++i) {
        const auto& s = out->summaries[i];
        if (!s) continue;
        const crm::clv::CustomerClv& c = out->scores[i];
        Datum values[10];
        bool nulls[10] = {false, false, false, false, false, false, false, false, false, false};
        values[0] = Int64GetDatum(out->keys[i]);
        values[1] = Int64GetDatum(s->x);
        values[2] = Float8GetDatum(s->t_x);
        values[3] = Float8GetDatum(s->T);
        values[4] = Float8GetDatum(s->mean_spend);
        values[5] = Float8GetDatum(c.p_alive);
        values[6] = Float8GetDatum(c.expected_purchases);
        values[7] = Float8GetDatum(c.expected_spend);
        values[8] = Float8GetDatum(c.clv);
        values[9] = risk_names[static_cast<int>(c.churn_risk)];
        tuplestore_putvalues(out->store, out->desc, values, nulls);
        if ((i & 0xFFF) == 0) CHECK_FOR_INTERRUPTS();
    }
}

}  // namespace

CRM_FUNCTION(crm_clv_analyze_scan) {
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int i = 0; i < 10; ++i)
        if (PG_ARGISNULL(i)) return static_cast<Datum>(0);
    const Oid relid = PG_GETARG_OID(0);
    const std::string key = crm::pg::name_arg(fcinfo, 1), date = crm::pg::name_arg(fcinfo, 2),
                      amount = crm::pg::name_arg(fcinfo, 3);
    const DateADT as_of = PG_GETARG_DATEADT(4);
    if (DATE_NOT_FINITE(as_of)) return static_cast<Datum>(0);
    crm::clv::ClvAnalysisOptions options;
    crm::clv::TimeUnit unit;
    try {
        unit = crm::clv::parse_time_unit(crm::pg::text_arg(fcinfo, 5).c_str());
    } catch (const crm::Error&) {
        return static_cast<Datum>(0);
    }
    options.clv.months = PG_GETARG_INT32(6);
    options.clv.monthly_discount = PG_GETARG_FLOAT8(7);
    options.clv.margin = PG_GETARG_FLOAT8(8);
    options.clv.month_length = crm::clv::month_length(unit);
    options.horizon = PG_GETARG_FLOAT8(9);
    if (!std::isfinite(options.clv.monthly_discount) || !std::isfinite(options.clv.margin) ||
        !std::isfinite(options.horizon) || options.horizon < 0)
        return static_cast<Datum>(0);

    Columns columns;
    Columns* c = &columns;
    const bool resolved = pg_guard([relid, &key, &date, &amount, c] {
        return resolve_columns(relid, key.c_str(), date.c_str(), amount.c_str(), c);
    });
    if (!resolved) return static_cast<Datum>(0);
    const AttrNumber read[3] = {columns.key, columns.date, columns.amount};
    const Oid read_types[3] = {columns.key_type, columns.date_type, columns.amount_type};
    const AttrNumber* read_ptr = read;
    const Oid* types_ptr = read_types;
    crm::pg::DirectTable* table =
        pg_guard([relid, read_ptr, types_ptr] { return crm::pg::open_direct_table(relid, read_ptr, types_ptr, 3); });
    if (table == nullptr) return static_cast<Datum>(0);

    std::vector<std::int64_t> keys(kBatchRows), days(kBatchRows);
    std::vector<double> amounts(kBatchRows);
    Batch batch{keys.data(), days.data(), amounts.data(), 0};
    Batch* b = &batch;
    const auto started = std::chrono::steady_clock::now();
    const auto ms_since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    };
    double ms[4] = {0, 0, 0, 0};  // scan, summaries, fits, scores: reported at DEBUG1
    crm::clv::PurchaseLedger ledger;
    const std::size_t memory_limit = crm::pg::max_fit_memory_bytes();
    // Room for the estimated rows (and a little more), within the memory limit: about 20 bytes a purchase.
    const double estimate = pg_guard([relid] { return estimated_rows(relid); }) * 1.05;
    ledger.reserve(static_cast<std::size_t>(std::min(estimate, static_cast<double>(memory_limit / 24))));
    int status = 1;
    bool usable = true;
    while (status == 1 && usable) {
        status = pg_guard([table, c, b] { return fill_batch(table, c, b); });
        try {
            ledger.add_batch(keys.data(), days.data(), amounts.data(), static_cast<std::size_t>(batch.rows));
        } catch (const crm::Error&) {  // more customers than the index numbers
            usable = false;
        } catch (const std::bad_alloc&) {
            usable = false;
        }
        usable = usable && status >= 0 && ledger.memory_bytes() <= memory_limit;
    }
    pg_guard([table] { crm::pg::close_direct_table(table); });
    if (!usable || ledger.purchases() == 0 ||
        ledger.memory_bytes() + ledger.summaries_extra_bytes() > memory_limit)
        return static_cast<Datum>(0);

    // Anything the core refuses from here on, the SQL path refuses too, with
    // its own error and context: step aside and let it.
    std::vector<std::optional<crm::clv::CustomerSummary>> summaries;
    std::vector<crm::clv::CustomerClv> scores;
    ms[0] = ms_since(started);
    try {
        auto t = std::chrono::steady_clock::now();
        summaries = ledger.summaries(static_cast<std::int64_t>(as_of), unit);
        ms[1] = ms_since(t);
        t = std::chrono::steady_clock::now();
        const crm::clv::BgNbdFit bg = crm::clv::fit_bgnbd(crm::clv::repeat_rows(summaries));
        const crm::clv::GammaGammaFit gg = crm::clv::fit_gammagamma(crm::clv::spend_rows(summaries));
        // What the scorers accept of a model row: every parameter finite and > 0.
        const auto usable_param = [](double v) { return std::isfinite(v) && v > 0; };
        const bool valid = usable_param(bg.params.r) && usable_param(bg.params.alpha) && usable_param(bg.params.a) &&
                           usable_param(bg.params.b) && usable_param(gg.params.p) && usable_param(gg.params.q) &&
                           usable_param(gg.params.gamma);
        if (!bg.info.converged || !gg.info.converged || !valid) return static_cast<Datum>(0);
        ms[2] = ms_since(t);
        t = std::chrono::steady_clock::now();
        scores = crm::clv::score_customers(summaries, bg.params, gg.params, options, kThreads);
        ms[3] = ms_since(t);
    } catch (const crm::Error&) {
        return static_cast<Datum>(0);
    } catch (const std::bad_alloc&) {
        return static_cast<Datum>(0);  // the query may still fit in memory: nothing is in the result yet
    }
    const Output out{ledger.keys().data(), summaries.data(), scores.data(), summaries.size(),
                     rsinfo->setResult, rsinfo->setDesc};
    const Output* outp = &out;
    pg_guard([outp] { put_rows(outp); });
    const auto customers = static_cast<unsigned long long>(summaries.size());
    const auto purchases = static_cast<unsigned long long>(ledger.purchases());
    const double* phase = ms;
    pg_guard([customers, purchases, phase] {
        elog(DEBUG1,
             "clv_analyze: direct scan, %llu purchases of %llu customers: scan %.0f ms, summaries %.0f ms, fits %.0f ms, "
             "scores %.0f ms",
             purchases, customers, phase[0], phase[1], phase[2], phase[3]);
    });
    return static_cast<Datum>(0);
}
