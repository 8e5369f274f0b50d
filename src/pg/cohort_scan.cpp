// crm._cohort_retention_scan(orders regclass, customer_col name, date_col name, amount_col name, period text)
//
// The direct path of crm.cohort_retention (sql/install/kpis.sql): reads the
// orders table itself (table_reader.hpp) and builds the cohort matrix in the
// core (cohort_matrix.hpp), returning exactly the rows of the function's SQL
// formulation. It returns no rows when it cannot be sure of that: the
// conditions of a direct read, an integer customer key, a date, timestamp or
// timestamptz order column, an integer, numeric or double precision amount
// (or none), finite dates from year 1 on, sums that fit; the plpgsql caller
// then runs the SQL (which also reports every error). An empty table gives no
// rows either way.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cohort_matrix.hpp"

#include "bridge.hpp"
#include "datum_convert.hpp"
#include "settings.hpp"
#include "table_reader.hpp"

extern "C" {
#include "utils/datetime.h"
}

namespace {

using crm::pg::pg_guard;

constexpr int kBatchRows = 4096;

enum class Period { Week, Month, Quarter };

bool parse_period(const std::string& text, Period* out) {
    if (text == "week") *out = Period::Week;
    else if (text == "month") *out = Period::Month;
    else if (text == "quarter") *out = Period::Quarter;
    else return false;
    return true;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// ---- C only from here to the entry point: runs under pg_guard ----

struct Columns {
    AttrNumber key, date, amount;  // amount InvalidAttrNumber: no amount column
    Oid key_type, date_type, amount_type;
    Period period;
    crm::RevenueKind revenue;
};

struct Batch {
    std::int64_t* keys;
    std::int32_t* periods;
    crm::Decimal* exact;
    double* floats;
    int rows;
};

// The period index of a date as date_trunc(period, column)::date cuts it: the
// local calendar date (timestamptz in the session's TimeZone), then month,
// quarter or Monday-based week. False for what the SQL path must judge.
bool period_of(Datum d, const Columns* c, std::int32_t* out) {
    int year, month, day;
    if (c->date_type == DATEOID) {
        const DateADT v = DatumGetDateADT(d);
        if (DATE_NOT_FINITE(v) || !crm::pg::date_safely_inside(v)) return false;
        j2date(v + POSTGRES_EPOCH_JDATE, &year, &month, &day);
    } else if (c->date_type == TIMESTAMPOID) {
        const Timestamp t = DatumGetTimestamp(d);
        if (TIMESTAMP_NOT_FINITE(t) || !crm::pg::timestamp_safely_inside(t)) return false;
        j2date(static_cast<int>(floor_div(t, USECS_PER_DAY) + POSTGRES_EPOCH_JDATE), &year, &month, &day);
    } else {
        const TimestampTz t = DatumGetTimestampTz(d);
        if (TIMESTAMP_NOT_FINITE(t) || !crm::pg::timestamp_safely_inside(t)) return false;
        pg_tm tm;
        fsec_t fsec;
        int tz;
        if (timestamp2tm(t, &tz, &tm, &fsec, nullptr, nullptr) != 0) return false;
        year = tm.tm_year;
        month = tm.tm_mon;
        day = tm.tm_mday;
    }
    if (year < 1) return false;
    switch (c->period) {
        case Period::Month: *out = year * 12 + month - 1; break;
        case Period::Quarter: *out = year * 4 + (month - 1) / 3; break;
        case Period::Week: *out = date2j(year, month, day) / 7; break;  // Julian day numbers of Mondays are multiples of 7
    }
    return true;
}

DateADT period_start(std::int32_t index, Period period) {
    switch (period) {
        case Period::Month: {
            const int year = static_cast<int>(floor_div(index, 12));
            return date2j(year, index - 12 * year + 1, 1) - POSTGRES_EPOCH_JDATE;
        }
        case Period::Quarter: {
            const int year = static_cast<int>(floor_div(index, 4));
            return date2j(year, 3 * (index - 4 * year) + 1, 1) - POSTGRES_EPOCH_JDATE;
        }
        default: return index * 7 - POSTGRES_EPOCH_JDATE;
    }
}

// One batch (crm::pg::fill_direct_batch): rows with a NULL customer or date
// are skipped, as the SQL's WHERE; a NULL amount counts with no revenue.
int fill_batch(crm::pg::DirectTable* table, const Columns* c, Batch* b) {
    const int k = c->key - 1, d = c->date - 1, a = c->amount - 1;
    const auto row = [c, b, k, d, a](const Datum* v, const bool* null, int r) {
        if (null[k] || null[d]) return crm::pg::DirectRow::Skipped;  // WHERE customer IS NOT NULL AND date IS NOT NULL
        if (!period_of(v[d], c, &b->periods[r])) return crm::pg::DirectRow::Refused;
        b->keys[r] = c->key_type == INT8OID   ? DatumGetInt64(v[k])
                     : c->key_type == INT4OID ? DatumGetInt32(v[k])
                                              : DatumGetInt16(v[k]);
        b->exact[r].units = 0;
        b->exact[r].scale = 0;
        b->floats[r] = 0.0;
        if (c->revenue != crm::RevenueKind::None && !null[a]) {  // sum() skips a NULL amount
            switch (c->amount_type) {
                case NUMERICOID:
                    if (!crm::pg::numeric_to_decimal(v[a], &b->exact[r].units, &b->exact[r].scale))
                        return crm::pg::DirectRow::Refused;
                    break;
                case INT8OID: b->exact[r].units = DatumGetInt64(v[a]); break;
                case INT4OID: b->exact[r].units = DatumGetInt32(v[a]); break;
                case INT2OID: b->exact[r].units = DatumGetInt16(v[a]); break;
                default: b->floats[r] = DatumGetFloat8(v[a]); break;
            }
        }
        return crm::pg::DirectRow::Taken;
    };
    return crm::pg::fill_direct_batch(table, kBatchRows, &b->rows, row);
}

struct Output {
    const crm::CohortCell* cells;
    std::size_t count;
    const char* const* revenue_texts;  // Exact: per cell
    Period period;
    crm::RevenueKind revenue;
    Tuplestorestate* store;
    TupleDesc desc;
};

// The SQL's numeric revenue of a cell: the exact sum, or float8 -> numeric of the float sum.
Datum revenue_numeric(const Output* out, std::size_t i) {
    if (out->revenue == crm::RevenueKind::Exact)
        return DirectFunctionCall3(numeric_in, CStringGetDatum(out->revenue_texts[i]), ObjectIdGetDatum(InvalidOid),
                                   Int32GetDatum(-1));
    return DirectFunctionCall1(float8_numeric, Float8GetDatum(out->cells[i].revenue_float));
}

void put_rows(const Output* out) {
    MemoryContext rows = AllocSetContextCreate(CurrentMemoryContext, "crm cohort rows", ALLOCSET_SMALL_SIZES);
    double first_revenue = 0;  // the cohort's period-0 revenue as float8
    bool first_is_zero = true;
    for (std::size_t i = 0; i < out->count; ++i) {
        const crm::CohortCell& cell = out->cells[i];
        MemoryContext previous = MemoryContextSwitchTo(rows);
        Datum values[7];
        bool nulls[7] = {false, false, false, false, false, false, false};
        values[0] = DateADTGetDatum(period_start(cell.cohort, out->period));
        values[1] = Int32GetDatum(cell.period - cell.cohort);
        values[2] = Int64GetDatum(cell.customers);
        values[3] = Int64GetDatum(cell.active);
        values[4] = Float8GetDatum(static_cast<double>(cell.active) / static_cast<double>(cell.customers));
        if (out->revenue == crm::RevenueKind::None) {
            nulls[5] = nulls[6] = true;
        } else {
            const Datum revenue = revenue_numeric(out, i);
            const double revenue_f8 = DatumGetFloat8(DirectFunctionCall1(numeric_float8, revenue));
            if (cell.period == cell.cohort) {
                first_revenue = revenue_f8;
                first_is_zero = out->revenue == crm::RevenueKind::Exact ? cell.revenue_exact.units == 0
                                                                         : cell.revenue_float == 0.0;
            }
            values[5] = revenue;
            // revenue::float8 / nullif(period-0 revenue, 0)::float8, by float8div itself (its overflow errors too)
            nulls[6] = first_is_zero;
            values[6] = first_is_zero ? Float8GetDatum(0.0)
                                      : DirectFunctionCall2(float8div, Float8GetDatum(revenue_f8),
                                                            Float8GetDatum(first_revenue));
        }
        MemoryContextSwitchTo(previous);
        tuplestore_putvalues(out->store, out->desc, values, nulls);
        MemoryContextReset(rows);
        if ((i & 0xFFF) == 0) CHECK_FOR_INTERRUPTS();
    }
    MemoryContextDelete(rows);
}

// The columns and their kinds, or false when the direct path does not apply.
bool resolve_columns(Oid relid, const char* key, const char* date, const char* amount, Columns* c) {
    if (get_rel_relkind(relid) == '\0') return false;
    c->key = crm::pg::user_column(relid, key, &c->key_type);
    c->date = crm::pg::user_column(relid, date, &c->date_type);
    c->amount = InvalidAttrNumber;
    c->amount_type = InvalidOid;
    c->revenue = crm::RevenueKind::None;
    if (c->key == InvalidAttrNumber || c->date == InvalidAttrNumber) return false;
    if (c->key_type != INT2OID && c->key_type != INT4OID && c->key_type != INT8OID) return false;
    if (c->date_type != DATEOID && c->date_type != TIMESTAMPOID && c->date_type != TIMESTAMPTZOID) return false;
    if (amount != nullptr) {
        c->amount = crm::pg::user_column(relid, amount, &c->amount_type);
        if (c->amount == InvalidAttrNumber) return false;
        if (c->amount_type == NUMERICOID || c->amount_type == INT2OID || c->amount_type == INT4OID ||
            c->amount_type == INT8OID)
            c->revenue = crm::RevenueKind::Exact;
        else if (c->amount_type == FLOAT8OID)
            c->revenue = crm::RevenueKind::Float;
        else
            return false;  // real sums in real, money in money: the SQL path
    }
    return true;
}

}  // namespace

CRM_FUNCTION(crm_cohort_retention_scan) {
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int i : {0, 1, 2, 4})
        if (PG_ARGISNULL(i)) return static_cast<Datum>(0);
    Columns columns;
    if (!parse_period(crm::pg::text_arg(fcinfo, 4), &columns.period)) return static_cast<Datum>(0);
    const Oid relid = PG_GETARG_OID(0);
    const std::string key = crm::pg::name_arg(fcinfo, 1), date = crm::pg::name_arg(fcinfo, 2);
    const std::string amount = PG_ARGISNULL(3) ? std::string() : crm::pg::name_arg(fcinfo, 3);
    const char* amount_name = PG_ARGISNULL(3) ? nullptr : amount.c_str();
    Columns* c = &columns;
    const bool resolved = pg_guard([relid, &key, &date, amount_name, c] {
        return resolve_columns(relid, key.c_str(), date.c_str(), amount_name, c);
    });
    if (!resolved) return static_cast<Datum>(0);
    std::vector<AttrNumber> read = {columns.key, columns.date};
    std::vector<Oid> read_types = {columns.key_type, columns.date_type};
    if (columns.amount != InvalidAttrNumber) {
        read.push_back(columns.amount);
        read_types.push_back(columns.amount_type);
    }
    const AttrNumber* read_ptr = read.data();
    const Oid* types_ptr = read_types.data();
    const int nread = static_cast<int>(read.size());
    crm::pg::DirectTable* table = pg_guard(
        [relid, read_ptr, types_ptr, nread] { return crm::pg::open_direct_table(relid, read_ptr, types_ptr, nread); });
    if (table == nullptr) return static_cast<Datum>(0);

    std::vector<std::int64_t> keys(kBatchRows);
    std::vector<std::int32_t> periods(kBatchRows);
    std::vector<crm::Decimal> exact(kBatchRows);
    std::vector<double> floats(kBatchRows);
    Batch batch{keys.data(), periods.data(), exact.data(), floats.data(), 0};
    Batch* b = &batch;
    crm::CohortBuilder builder(columns.revenue);
    const std::size_t memory_limit = crm::pg::max_fit_memory_bytes();
    int status = 1;
    bool usable = true;
    while (status == 1 && usable) {
        status = pg_guard([table, c, b] { return fill_batch(table, c, b); });
        usable = status >= 0 &&
                 builder.add_batch(keys.data(), periods.data(), exact.data(), floats.data(),
                                   static_cast<std::size_t>(batch.rows)) &&
                 builder.memory_bytes() <= memory_limit;
    }
    pg_guard([table] { crm::pg::close_direct_table(table); });
    // What building the matrix may still take: the cells, and per pair a customer number.
    const std::size_t held = builder.memory_bytes() + builder.pairs() * 2 * sizeof(std::uint32_t);
    const std::size_t cell_budget = held < memory_limit ? (memory_limit - held) / sizeof(crm::CohortCell) : 0;
    std::vector<crm::CohortCell> cells;
    if (!usable || !builder.build(cells, cell_budget)) return static_cast<Datum>(0);
    // A NaN or overflowing float revenue: the SQL's sum() has its own rules (an overflow is an error there).
    if (columns.revenue == crm::RevenueKind::Float)
        for (const crm::CohortCell& cell : cells)
            if (!std::isfinite(cell.revenue_float)) return static_cast<Datum>(0);

    std::vector<std::string> texts;
    std::vector<const char*> text_ptrs;
    if (columns.revenue == crm::RevenueKind::Exact) {
        texts.reserve(cells.size());
        for (const crm::CohortCell& cell : cells) texts.push_back(crm::decimal_text(cell.revenue_exact));
        for (const std::string& t : texts) text_ptrs.push_back(t.c_str());
    }
    const Output out{cells.data(), cells.size(), text_ptrs.data(), columns.period, columns.revenue,
                     rsinfo->setResult, rsinfo->setDesc};
    const Output* outp = &out;
    pg_guard([outp] { put_rows(outp); });
    const auto n = static_cast<unsigned long long>(cells.size());
    const auto pairs = static_cast<unsigned long long>(builder.pairs());
    pg_guard([n, pairs] {
        elog(DEBUG1, "cohort_retention: direct scan, %llu (customer, period) pairs, %llu rows", pairs, n);
    });
    return static_cast<Datum>(0);
}
