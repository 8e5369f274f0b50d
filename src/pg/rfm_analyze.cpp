// crm.rfm_analyze(orders regclass, customer_col name, date_col name, amount_col name,
//                 as_of timestamptz, bins int, method text, segment_map jsonb)
// crm.rfm_analyze_typed(the same with key_type anyelement after amount_col)
//
// One call from an orders table to one scored row per customer. The per-
// customer totals come from a direct scan of the table where that is exactly
// equivalent (order_scan.hpp), otherwise from a GROUP BY query (in parallel
// when PostgreSQL likes); the core learns the cut points and scores; the rows
// go back in a tuplestore.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "errors.hpp"
#include "rfm.hpp"
#include "segments.hpp"

#include "bridge.hpp"
#include "datum_convert.hpp"
#include "order_scan.hpp"
#include "progress.hpp"
#include "relation.hpp"
#include "segment_map_arg.hpp"
#include "spi_session.hpp"

namespace {

// A text datum allocated in `context` (C only; not inlined into a guard, so
// no local of it lives across the guard's setjmp).
__attribute__((noinline)) Datum text_in_context(MemoryContext context, const char* data, std::size_t size) {
    auto* t = static_cast<text*>(MemoryContextAlloc(context, size + VARHDRSZ));
    SET_VARSIZE(t, size + VARHDRSZ);
    memcpy(VARDATA(t), data, size);
    return PointerGetDatum(t);
}

using crm::pg::pg_guard;

struct Arguments {
    Oid orders = InvalidOid;
    std::string customer_col, date_col, amount_col;
    TimestampTz as_of = 0;
    int bins = 5;
    std::string method;
    Jsonb* segment_map = nullptr;
};

void require_not_null(FunctionCallInfo fcinfo, int argno, const char* argname) {
    if (PG_ARGISNULL(argno))
        crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(argname) + " must not be NULL");
}

Arguments read_arguments(FunctionCallInfo fcinfo) {
    // rfm_analyze_typed has one more argument, key_type, at position 4.
    const int shift = PG_NARGS() == 9 ? 1 : 0;
    const char* names[] = {"orders", "customer_col", "date_col", "amount_col"};
    for (int i = 0; i < 4; ++i) require_not_null(fcinfo, i, names[i]);
    require_not_null(fcinfo, 4 + shift, "as_of");
    require_not_null(fcinfo, 5 + shift, "bins");
    require_not_null(fcinfo, 6 + shift, "method");
    Arguments a;
    a.orders = PG_GETARG_OID(0);
    a.customer_col = crm::pg::name_arg(fcinfo, 1);
    a.date_col = crm::pg::name_arg(fcinfo, 2);
    a.amount_col = crm::pg::name_arg(fcinfo, 3);
    a.as_of = PG_GETARG_TIMESTAMPTZ(4 + shift);
    a.bins = PG_GETARG_INT32(5 + shift);
    a.method = crm::pg::text_arg(fcinfo, 6 + shift);
    if (!PG_ARGISNULL(7 + shift)) {
        const int argno = 7 + shift;
        a.segment_map = pg_guard([fcinfo, argno] { return PG_GETARG_JSONB_P(argno); });
    }
    crm::check_rfm_bins(a.bins);
    if (a.method != "quantile" && a.method != "ntile")
        crm::throw_invalid("method must be 'quantile' or 'ntile', got '" + a.method + "'");
    if (TIMESTAMP_NOT_FINITE(a.as_of)) crm::throw_invalid("as_of must be a finite timestamp");
    return a;
}

// Per-customer values as the GROUP BY query returns them, in PostgreSQL
// memory (a context of their own), filled row by row while the query runs.
struct CustomerRows {
    MemoryContext context;
    bool key_byval;
    int16 key_len;
    std::uint64_t capacity;
    std::uint64_t count;
    Datum* keys;
    std::int32_t* recency_days;
    std::int64_t* frequency;
    double* monetary;
    std::int64_t skipped_rows;
};

std::string build_query(const crm::pg::RelationRef& rel, const crm::pg::ColumnRef& key, Oid key_type,
                        const crm::pg::ColumnRef& date, const crm::pg::ColumnRef& amount, bool ordered) {
    std::string key_expr = key.quoted_name;
    if (key.type != key_type) key_expr += "::" + crm::pg::type_name(key_type);
    const std::string amount_expr =
        amount.quoted_name + (amount.type == CASHOID ? "::pg_catalog.numeric" : "") + "::pg_catalog.float8";
    const std::string last = "pg_catalog.max(s.d) FILTER (WHERE s.ok)";
    // Whole days since the last order: exact for date columns, floored for timestamps.
    const std::string recency =
        date.type == DATEOID
            ? "($1::pg_catalog.date - " + last + ")"
            : "pg_catalog.floor(pg_catalog.date_part('epoch', $1 - " + last + ") / 86400)::pg_catalog.int4";
    std::string sql = "SELECT s.k, " + recency +
                      ", pg_catalog.count(*) FILTER (WHERE s.ok)"
                      ", pg_catalog.sum(s.a) FILTER (WHERE s.ok)"
                      ", pg_catalog.count(*) FILTER (WHERE NOT s.ok)"
                      " FROM (SELECT " +
                      key_expr + " AS k, " + date.quoted_name + " AS d, " + amount_expr + " AS a, (" +
                      date.quoted_name + " IS NOT NULL AND " + amount.quoted_name + " IS NOT NULL AND " +
                      date.quoted_name + " <= $1) AS ok FROM " + rel.quoted_name + ") s GROUP BY s.k";
    if (ordered) sql += " ORDER BY s.k";
    return sql;
}

void grow(CustomerRows* rows) {
    const std::uint64_t capacity = rows->capacity == 0 ? 1024 : rows->capacity * 2;
    const auto resize = [rows, capacity](void* old, std::size_t width) {
        return old == nullptr ? MemoryContextAllocHuge(rows->context, capacity * width)
                              : repalloc_huge(old, capacity * width);
    };
    rows->keys = static_cast<Datum*>(resize(rows->keys, sizeof(Datum)));
    rows->recency_days = static_cast<std::int32_t*>(resize(rows->recency_days, sizeof(std::int32_t)));
    rows->frequency = static_cast<std::int64_t*>(resize(rows->frequency, sizeof(std::int64_t)));
    rows->monetary = static_cast<double*>(resize(rows->monetary, sizeof(double)));
    rows->capacity = capacity;
}

// Receives one row of the GROUP BY query (runs inside PostgreSQL: C only).
// Columns: key, recency_days, kept rows, sum of amounts, skipped rows.
void collect_row(TupleTableSlot* slot, void* arg) {
    auto* rows = static_cast<CustomerRows*>(arg);
    const Datum* v = slot->tts_values;
    const bool* null = slot->tts_isnull;
    const std::int64_t kept = DatumGetInt64(v[2]);
    const std::int64_t skipped = DatumGetInt64(v[4]);
    if (null[0] || kept == 0) {  // NULL customer, or every row of the customer skipped
        rows->skipped_rows += kept + skipped;
        return;
    }
    rows->skipped_rows += skipped;
    if (rows->count == rows->capacity) grow(rows);
    const std::uint64_t i = rows->count++;
    rows->keys[i] = rows->key_byval ? v[0] : PointerGetDatum(nullptr);
    if (!rows->key_byval) {
        MemoryContext previous = MemoryContextSwitchTo(rows->context);
        rows->keys[i] = datumCopy(v[0], false, rows->key_len);
        MemoryContextSwitchTo(previous);
    }
    rows->recency_days[i] = DatumGetInt32(v[1]);
    rows->frequency[i] = kept;
    rows->monetary[i] = DatumGetFloat8(v[3]);
    if ((i & 0xFFFF) == 0) CHECK_FOR_INTERRUPTS();
}

// The validated table and columns of one call.
struct Inputs {
    crm::pg::RelationRef rel;
    crm::pg::ColumnRef key, date, amount;
};

Inputs resolve_inputs(const Arguments& a, Oid key_type) {
    Inputs in;
    in.rel = crm::pg::resolve_relation(a.orders, "orders");
    in.key = crm::pg::resolve_column(in.rel, a.customer_col, "customer_col");
    in.date = crm::pg::resolve_column(in.rel, a.date_col, "date_col");
    in.amount = crm::pg::resolve_column(in.rel, a.amount_col, "amount_col");
    if (!crm::pg::is_temporal_type(in.date.type))
        crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                         "date_col \"" + in.date.name + "\" must be of type date, timestamp or timestamptz, not " +
                             in.date.type_name);
    if (!crm::pg::is_numeric_type(in.amount.type))
        crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                         "amount_col \"" + in.amount.name + "\" must be numeric, not " + in.amount.type_name);
    const bool key_types_match = in.key.type == key_type || (crm::pg::is_integer_type(in.key.type) &&
                                                             crm::pg::is_integer_type(key_type));
    if (!key_types_match)
        crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                         "customer_col \"" + in.key.name + "\" is of type " + in.key.type_name +
                             " but the result's customer_key is " + crm::pg::type_name(key_type),
                         "Use crm.rfm_analyze_typed(..., key_type => NULL::" + in.key.type_name +
                             ") to get keys of the column's own type.");
    return in;
}

CustomerRows* new_customer_rows(MemoryContext parent, Oid key_type) {
    return pg_guard([parent, key_type] {
        auto* r = static_cast<CustomerRows*>(MemoryContextAllocZero(parent, sizeof(CustomerRows)));
        r->context = AllocSetContextCreate(parent, "crm rfm_analyze customers", ALLOCSET_DEFAULT_SIZES);
        get_typlenbyval(key_type, &r->key_len, &r->key_byval);
        return r;
    });
}

CustomerRows* fetch_customers(crm::pg::SpiSession& spi, const Arguments& a, const Inputs& in, Oid key_type,
                              MemoryContext parent) {
    const std::string sql = build_query(in.rel, in.key, key_type, in.date, in.amount, a.method == "ntile");
    CustomerRows* rows = new_customer_rows(parent, key_type);
    spi.stream(sql, {TIMESTAMPTZOID}, {TimestampTzGetDatum(a.as_of)}, &collect_row, rows);
    return rows;
}

// The same rows from a direct scan of the table (order_scan.hpp), or nullptr
// when the SQL path must run. Keys come back in the result's integer type;
// a narrower result type than the column's is left to the SQL cast.
CustomerRows* fetch_customers_direct(const Arguments& a, const Inputs& in, Oid key_type, MemoryContext parent) {
    if (!(key_type == INT8OID || key_type == in.key.type)) return nullptr;
    crm::pg::OrderScanSpec spec;
    spec.relid = in.rel.relid;
    spec.key_att = in.key.attnum;
    spec.time_att = in.date.attnum;
    spec.amount_att = in.amount.attnum;
    spec.key_type = in.key.type;
    spec.time_type = in.date.type;
    spec.amount_type = in.amount.type;
    spec.as_of = a.as_of;
    crm::pg::OrderTotals scanned;
    if (crm::pg::scan_order_totals(spec, scanned) != crm::pg::OrderScanOutcome::Done) return nullptr;
    if (a.method == "ntile") scanned.totals.sort_by_key();  // as the SQL path's ORDER BY
    const std::vector<std::int32_t> recency = crm::pg::recency_days(spec, scanned.totals);
    const std::size_t n = scanned.totals.size();
    if (recency.size() != n) return nullptr;  // an infinite date: the SQL path reports it

    CustomerRows* rows = new_customer_rows(parent, key_type);
    const std::uint64_t capacity = std::max<std::uint64_t>(n, 1);
    pg_guard([rows, capacity] {
        rows->capacity = 0;
        while (rows->capacity < capacity) grow(rows);
    });
    const crm::CustomerTotals& t = scanned.totals;
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t k = t.keys()[i];
        rows->keys[i] = key_type == INT8OID   ? Int64GetDatum(k)
                        : key_type == INT4OID ? Int32GetDatum(static_cast<std::int32_t>(k))
                                              : Int16GetDatum(static_cast<std::int16_t>(k));
        rows->recency_days[i] = recency[i];
        rows->frequency[i] = t.counts()[i];
        rows->monetary[i] = t.sums()[i];
    }
    rows->count = n;
    rows->skipped_rows = scanned.skipped_rows;
    return rows;
}

// One output row's values, ready for tuplestore_putvalues (C only).
struct OutputRows {
    const CustomerRows* customers;
    const crm::RfmScores* scores;
    const char* const* cells;     // per row
    const Datum* segment_texts;   // per row, shared text Datums
    Tuplestorestate* store;
    TupleDesc desc;
};

void put_rows(const OutputRows* out) {
    const std::size_t n = out->customers->count;
    MemoryContext row_context =
        AllocSetContextCreate(CurrentMemoryContext, "crm rfm_analyze rows", ALLOCSET_SMALL_SIZES);
    Datum values[9];
    bool nulls[9] = {false, false, false, false, false, false, false, false, false};
    for (std::size_t i = 0; i < n; ++i) {
        MemoryContext previous = MemoryContextSwitchTo(row_context);
        values[0] = out->customers->keys[i];
        values[1] = Int32GetDatum(out->customers->recency_days[i]);
        values[2] = Int64GetDatum(out->customers->frequency[i]);
        values[3] = Float8GetDatum(out->customers->monetary[i]);
        values[4] = Int32GetDatum(out->scores[i].r);
        values[5] = Int32GetDatum(out->scores[i].f);
        values[6] = Int32GetDatum(out->scores[i].m);
        values[7] = CStringGetTextDatum(out->cells[i]);
        values[8] = out->segment_texts[i];
        MemoryContextSwitchTo(previous);
        tuplestore_putvalues(out->store, out->desc, values, nulls);
        MemoryContextReset(row_context);
        if ((i & 0xFFFF) == 0) CHECK_FOR_INTERRUPTS();
    }
    MemoryContextDelete(row_context);
}

}  // namespace

CRM_FUNCTION(crm_rfm_analyze) {
    const Arguments args = read_arguments(fcinfo);
    const crm::SegmentMap segments = crm::pg::segment_map_for(args.bins, args.segment_map);

    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    const Oid key_type = TupleDescAttr(rsinfo->setDesc, 0)->atttypid;

    const Inputs inputs = resolve_inputs(args, key_type);
    using Clock = std::chrono::steady_clock;
    crm::pg::ProgressReport progress;
    progress.update("crm.rfm_analyze aggregating orders per customer", true);
    const auto t0 = Clock::now();
    MemoryContext query_memory = rsinfo->econtext->ecxt_per_query_memory;
    const CustomerRows* customers = fetch_customers_direct(args, inputs, key_type, query_memory);
    const bool direct = customers != nullptr;
    if (!direct) {
        crm::pg::SpiSession spi;
        customers = fetch_customers(spi, args, inputs, key_type, query_memory);
        spi.finish();
    }
    const auto t1 = Clock::now();

    progress.update("crm.rfm_analyze scoring " + std::to_string(customers->count) + " customers", true);
    crm::RfmSample sample;
    sample.reserve(customers->count);
    for (std::size_t i = 0; i < customers->count; ++i)
        sample.add(customers->recency_days[i], static_cast<double>(customers->frequency[i]), customers->monetary[i]);
    const std::vector<crm::RfmScores> scores =
        args.method == "ntile" ? sample.score_all_ntile(args.bins) : sample.score_all_quantile(args.bins);

    // Cells and segment names as C strings; one text Datum per distinct segment.
    std::vector<std::string> cells(scores.size());
    std::vector<Datum> segment_texts(scores.size());
    std::vector<std::pair<const std::string*, Datum>> segment_datums;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        cells[i] = crm::rfm_cell(scores[i], args.bins);
        const std::string& name = segments.segment(scores[i].r, scores[i].f);
        Datum text = 0;
        for (const auto& [known, datum] : segment_datums)
            if (known == &name) text = datum;
        if (text == 0) {
            text = pg_guard([rsinfo, &name] {
                return text_in_context(rsinfo->econtext->ecxt_per_query_memory, name.data(), name.size());
            });
            segment_datums.emplace_back(&name, text);
        }
        segment_texts[i] = text;
    }
    const auto t2 = Clock::now();
    std::vector<const char*> cell_ptrs(cells.size());
    for (std::size_t i = 0; i < cells.size(); ++i) cell_ptrs[i] = cells[i].c_str();

    const OutputRows out{customers, scores.data(), cell_ptrs.data(), segment_texts.data(), rsinfo->setResult,
                         rsinfo->setDesc};
    const OutputRows* outp = &out;
    pg_guard([outp] { put_rows(outp); });
    MemoryContext rows_context = customers->context;
    pg_guard([rows_context] { MemoryContextDelete(rows_context); });
    const auto t3 = Clock::now();
    // Phase timings for DBAs (SET client_min_messages = debug1).
    const auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    const double query_ms = ms(t1 - t0), score_ms = ms(t2 - t1), output_ms = ms(t3 - t2);
    const auto n_customers = static_cast<unsigned long long>(scores.size());
    const char* source = direct ? "direct scan" : "query";
    pg_guard([=] {
        elog(DEBUG1, "rfm_analyze: %llu customers; %s %.1f ms, scoring %.1f ms, output %.1f ms", n_customers,
             source, query_ms, score_ms, output_ms);
    });

    if (customers->skipped_rows > 0) {
        const std::int64_t skipped = customers->skipped_rows;
        pg_guard([skipped] {
            ereport(NOTICE, (errmsg("rfm_analyze skipped %lld order rows with a NULL customer, date or amount, "
                                    "or dated after as_of",
                                    static_cast<long long>(skipped))));
        });
    }
    return static_cast<Datum>(0);
}
