#include "order_scan.hpp"

#include <algorithm>
#include <cmath>

#include "errors.hpp"

#include "bridge.hpp"
#include "settings.hpp"
#include "table_reader.hpp"

namespace crm::pg {

namespace {

constexpr int kBatchRows = 4096;

bool integer_key(Oid t) { return t == INT2OID || t == INT4OID || t == INT8OID; }
bool time_type(Oid t) { return t == DATEOID || t == TIMESTAMPOID || t == TIMESTAMPTZOID; }
bool amount_type(Oid t) {
    return t == INT2OID || t == INT4OID || t == INT8OID || t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID;
}

// ---- the scan (C only: everything here runs under pg_guard) ----

struct TotalsScan {
    DirectTable* table;
    OrderScanSpec spec;
    // date columns: the last date d with d::timestamptz <= as_of
    DateADT last_date;
    // timestamp columns: rows up to `surely_before` are in, after `surely_after` out, between them exactly checked
    Timestamp surely_before, surely_after;
};

struct Batch {
    std::int64_t* keys;
    std::int64_t* times;
    double* amounts;
    int rows;
    std::int64_t skipped;
};

// Opens the scan, or returns nullptr when the SQL path must run.
TotalsScan* open_scan(const OrderScanSpec* spec) {
    // Near the ends of the timestamp range the SQL's casts of as_of may fail: let the SQL decide.
    if (!timestamp_safely_inside(spec->as_of)) return nullptr;
    const AttrNumber columns[] = {spec->key_att, spec->time_att, spec->amount_att};
    const Oid types[] = {spec->key_type, spec->time_type, spec->amount_type};
    DirectTable* table = open_direct_table(spec->relid, columns, types, 3);
    if (table == nullptr) return nullptr;
    auto* s = static_cast<TotalsScan*>(palloc0(sizeof(TotalsScan)));
    s->table = table;
    s->spec = *spec;
    if (spec->time_type == DATEOID) {
        DateADT day = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(spec->as_of)));
        if (DatumGetTimestampTz(DirectFunctionCall1(date_timestamptz, DateADTGetDatum(day))) > spec->as_of) --day;
        s->last_date = day;
    } else if (spec->time_type == TIMESTAMPOID) {
        // A time zone offset is under a day, so only local times within two
        // days of as_of's local time need the exact (per-row) conversion.
        const Timestamp local =
            DatumGetTimestamp(DirectFunctionCall1(timestamptz_timestamp, TimestampTzGetDatum(spec->as_of)));
        s->surely_before = local - 2 * USECS_PER_DAY;
        s->surely_after = local + 2 * USECS_PER_DAY;
    }
    return s;
}

void close_scan(TotalsScan* s) {
    close_direct_table(s->table);
    pfree(s);
}

std::int64_t key_value(Datum d, Oid type) {
    if (type == INT8OID) return DatumGetInt64(d);
    if (type == INT4OID) return DatumGetInt32(d);
    return DatumGetInt16(d);
}

double amount_value(Datum d, Oid type) {
    switch (type) {
        case FLOAT8OID: return DatumGetFloat8(d);
        case FLOAT4OID: return static_cast<double>(DatumGetFloat4(d));
        case INT8OID: return static_cast<double>(DatumGetInt64(d));
        case INT4OID: return static_cast<double>(DatumGetInt32(d));
        case INT2OID: return static_cast<double>(DatumGetInt16(d));
        default: return numeric_to_double(d);
    }
}

enum class Dated { In, After, Unsure };

// Whether the row is dated up to as_of, as the SQL's `date_col <= as_of`
// decides (a date or timestamp cast to timestamptz); Unsure for values the
// cast might reject (the SQL path then runs and reports it).
Dated time_in_range(const TotalsScan* s, Datum d, std::int64_t* time) {
    switch (s->spec.time_type) {
        case DATEOID: {
            const DateADT day = DatumGetDateADT(d);
            *time = day;
            if (!date_safely_inside(day)) return Dated::Unsure;
            return day <= s->last_date ? Dated::In : Dated::After;  // +infinity is after every as_of, -infinity before
        }
        case TIMESTAMPTZOID:
            *time = DatumGetTimestampTz(d);
            return *time <= s->spec.as_of ? Dated::In : Dated::After;
        default: {
            const Timestamp t = DatumGetTimestamp(d);
            *time = t;
            if (!timestamp_safely_inside(t)) return Dated::Unsure;
            if (t <= s->surely_before) return Dated::In;
            if (t > s->surely_after) return Dated::After;
            return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, TimestampGetDatum(t))) <= s->spec.as_of
                       ? Dated::In
                       : Dated::After;
        }
    }
}

// Fills the batch with up to kBatchRows kept rows (fill_direct_batch); rows
// with a NULL or dated after as_of are skipped and counted.
int fill_batch(TotalsScan* s, Batch* b) {
    const int k = s->spec.key_att - 1, t = s->spec.time_att - 1, a = s->spec.amount_att - 1;
    const auto row = [s, b, k, t, a](const Datum* v, const bool* null, int r) {
        std::int64_t time = 0;
        const Dated dated = null[k] || null[t] || null[a] ? Dated::After : time_in_range(s, v[t], &time);
        if (dated == Dated::Unsure) return DirectRow::Refused;
        if (null[k] || null[t] || null[a] || dated == Dated::After) {
            ++b->skipped;
            return DirectRow::Skipped;
        }
        b->keys[r] = key_value(v[k], s->spec.key_type);
        b->times[r] = time;
        b->amounts[r] = amount_value(v[a], s->spec.amount_type);
        return DirectRow::Taken;
    };
    return fill_direct_batch(s->table, kBatchRows, &b->rows, row);
}

// Local timestamps of the customers' last orders as timestamptz (C only).
void to_timestamptz(const std::int64_t* local, std::int64_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, TimestampGetDatum(local[i])));
        if ((i & 0xFFFF) == 0) CHECK_FOR_INTERRUPTS();
    }
}

}  // namespace

OrderScanOutcome scan_order_totals(const OrderScanSpec& spec, OrderTotals& out) {
    if (!integer_key(spec.key_type) || !time_type(spec.time_type) ||
        !amount_type(spec.amount_type))
        return OrderScanOutcome::NotApplicable;
    const OrderScanSpec* specp = &spec;
    TotalsScan* scan = pg_guard([specp] { return open_scan(specp); });
    if (scan == nullptr) return OrderScanOutcome::NotApplicable;

    std::vector<std::int64_t> keys(kBatchRows), times(kBatchRows);
    std::vector<double> amounts(kBatchRows);
    Batch batch{keys.data(), times.data(), amounts.data(), 0, 0};
    Batch* b = &batch;
    const std::size_t memory_limit = max_fit_memory_bytes();
    int status = 1;
    while (status == 1) {
        status = pg_guard([scan, b] { return fill_batch(scan, b); });
        if (status < 0) break;
        out.totals.add_batch(keys.data(), times.data(), amounts.data(), static_cast<std::size_t>(batch.rows));
        // Too many customers to hold: PostgreSQL's aggregate can spill to disk.
        if (out.totals.memory_bytes() > memory_limit) status = -1;
    }
    pg_guard([scan] { close_scan(scan); });
    // A NaN or overflowing total: the SQL's sum() has its own rules (an overflow is an error there).
    for (const double sum : out.totals.sums())
        if (!std::isfinite(sum)) status = -1;
    if (status < 0) {
        out = OrderTotals{};
        return OrderScanOutcome::NotApplicable;
    }
    out.skipped_rows = batch.skipped;
    return OrderScanOutcome::Done;
}

std::vector<std::int32_t> recency_days(const OrderScanSpec& spec, const crm::CustomerTotals& totals) {
    const std::vector<std::int64_t>& last = totals.last_times();
    const std::size_t n = last.size();
    std::vector<std::int32_t> out(n);
    if (spec.time_type == DATEOID) {
        const TimestampTz as_of = spec.as_of;
        const DateADT as_of_date =
            pg_guard([as_of] { return DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(as_of))); });
        for (std::size_t i = 0; i < n; ++i) {
            if (DATE_IS_NOBEGIN(static_cast<DateADT>(last[i]))) return {};
            out[i] = static_cast<std::int32_t>(as_of_date - last[i]);
        }
        return out;
    }
    std::vector<std::int64_t> utc(n);
    if (spec.time_type == TIMESTAMPOID) {
        for (std::int64_t t : last)
            if (TIMESTAMP_IS_NOBEGIN(t)) return {};
        const std::int64_t* in = last.data();
        std::int64_t* converted = utc.data();
        pg_guard([in, converted, n] { to_timestamptz(in, converted, n); });
    } else {
        utc = last;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (TIMESTAMP_IS_NOBEGIN(utc[i])) return {};
        // The SQL: floor(date_part('epoch', as_of - last) / 86400)::int4, where
        // timestamptz_mi justifies the difference into days and microseconds
        // and date_part adds them up in float8. The same steps here.
        std::int64_t diff;
        if (__builtin_sub_overflow(spec.as_of, utc[i], &diff)) return {};  // the SQL: "interval out of range"
        const std::int64_t days = diff / USECS_PER_DAY;  // rows after as_of are skipped: diff >= 0
        const std::int64_t micros = diff - days * USECS_PER_DAY;
        const double epoch = static_cast<double>(micros) / 1000000.0 + static_cast<double>(SECS_PER_DAY) * static_cast<double>(days);
        const double whole_days = std::floor(epoch / SECS_PER_DAY);
        if (!(whole_days >= PG_INT32_MIN && whole_days <= PG_INT32_MAX)) return {};
        out[i] = static_cast<std::int32_t>(whole_days);
    }
    return out;
}

}  // namespace crm::pg
