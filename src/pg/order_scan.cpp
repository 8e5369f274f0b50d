#include "order_scan.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "errors.hpp"

#include "bridge.hpp"
#include "settings.hpp"

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_inherits.h"
#include "executor/tuptable.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
}

namespace crm::pg {

namespace {

constexpr int kBatchRows = 4096;

bool integer_key(Oid t) { return t == INT2OID || t == INT4OID || t == INT8OID; }
bool time_type(Oid t) { return t == DATEOID || t == TIMESTAMPOID || t == TIMESTAMPTZOID; }
bool amount_type(Oid t) {
    return t == INT2OID || t == INT4OID || t == INT8OID || t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID;
}

// ---- numeric to float8 without the text round trip ----
//
// numeric_float8 prints the value and parses it back with strtod: the
// correctly rounded double of the decimal value. For the amounts of an orders
// table (at most 16 significant digits, a small exponent) that double is
// mantissa * 10^e or mantissa / 10^-e in one IEEE operation on two exact
// values, which is correctly rounded too (Clinger's fast path). Other values
// go through numeric_float8 itself. The layout read here is numeric's on-disk
// format (src/backend/utils/adt/numeric.c), which pg_upgrade keeps stable.
constexpr std::uint16_t kSignMask = 0xC000, kNegative = 0x4000, kShort = 0x8000, kSpecial = 0xC000;
constexpr std::uint16_t kShortSign = 0x2000, kShortWeightSign = 0x0040, kShortWeight = 0x003F;
constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

double numeric_to_double_slow(Datum d) { return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d)); }

double numeric_to_double(Datum d) {
    const auto* v = reinterpret_cast<const varlena*>(DatumGetPointer(d));
    const std::uint8_t* p;
    std::size_t len;
    if (VARATT_IS_SHORT(v)) {
        p = reinterpret_cast<const std::uint8_t*>(VARDATA_SHORT(v));
        len = VARSIZE_SHORT(v) - VARHDRSZ_SHORT;
    } else if (VARATT_IS_4B_U(v)) {
        p = reinterpret_cast<const std::uint8_t*>(VARDATA(v));
        len = VARSIZE(v) - VARHDRSZ;
    } else {
        return numeric_to_double_slow(d);  // compressed or out of line
    }
    if (len < sizeof(std::uint16_t)) return numeric_to_double_slow(d);
    std::uint16_t header;
    std::memcpy(&header, p, sizeof header);
    if ((header & kSignMask) == kSpecial) return numeric_to_double_slow(d);  // NaN, +-Infinity
    bool negative;
    int weight;
    std::size_t header_size;
    if ((header & kSignMask) == kShort) {
        negative = (header & kShortSign) != 0;
        weight = (header & kShortWeightSign) ? static_cast<int>(~kShortWeight | (header & kShortWeight))
                                             : static_cast<int>(header & kShortWeight);
        header_size = sizeof(std::uint16_t);
    } else {
        if (len < 2 * sizeof(std::uint16_t)) return numeric_to_double_slow(d);
        negative = (header & kSignMask) == kNegative;
        std::int16_t w;
        std::memcpy(&w, p + sizeof(std::uint16_t), sizeof w);
        weight = w;
        header_size = 2 * sizeof(std::uint16_t);
    }
    const std::size_t ndigits = (len - header_size) / sizeof(std::int16_t);
    if (ndigits == 0) return 0.0;
    if (ndigits > 4) return numeric_to_double_slow(d);  // more than 16 digits: maybe past 2^53
    std::uint64_t mantissa = 0;
    for (std::size_t i = 0; i < ndigits; ++i) {
        std::int16_t digit;  // base 10000
        std::memcpy(&digit, p + header_size + i * sizeof digit, sizeof digit);
        mantissa = mantissa * 10000 + static_cast<std::uint64_t>(digit);
    }
    if (mantissa > (std::uint64_t{1} << 53)) return numeric_to_double_slow(d);
    const int exponent = 4 * (weight - static_cast<int>(ndigits - 1));
    double value;
    if (exponent >= 0 && exponent <= 22)
        value = static_cast<double>(mantissa) * kPowersOfTen[exponent];
    else if (exponent < 0 && exponent >= -22)
        value = static_cast<double>(mantissa) / kPowersOfTen[-exponent];
    else
        return numeric_to_double_slow(d);
    return negative ? -value : value;
}

// ---- the scan (C only: everything here runs under pg_guard) ----

struct DirectScan {
    Relation rel;
    Snapshot snapshot;
    TableScanDesc scan;
    TupleTableSlot* slot;
    OrderScanSpec spec;
    int natts;
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

bool caller_may_read(Oid relid, const OrderScanSpec& spec) {
    const Oid user = GetUserId();
    if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK) return true;
    for (AttrNumber att : {spec.key_att, spec.time_att, spec.amount_att})
        if (pg_attribute_aclcheck(relid, att, user, ACL_SELECT) != ACLCHECK_OK) return false;
    return true;
}

// Opens the scan, or returns nullptr when the SQL path must run.
DirectScan* open_scan(const OrderScanSpec* spec) {
    if (get_rel_relkind(spec->relid) != RELKIND_RELATION) return nullptr;
    if (has_subclass(spec->relid)) return nullptr;  // SELECT ... FROM t reads the children too
    const int rls = check_enable_rls(spec->relid, InvalidOid, true);
    if (rls != RLS_NONE && rls != RLS_NONE_ENV) return nullptr;
    if (!caller_may_read(spec->relid, *spec)) return nullptr;
    Relation rel = table_open(spec->relid, AccessShareLock);
    if (RELATION_IS_OTHER_TEMP(rel)) {
        table_close(rel, AccessShareLock);
        return nullptr;
    }
    auto* s = static_cast<DirectScan*>(palloc0(sizeof(DirectScan)));
    s->rel = rel;
    s->spec = *spec;
    s->natts = std::max({static_cast<int>(spec->key_att), static_cast<int>(spec->time_att),
                         static_cast<int>(spec->amount_att)});
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
    s->snapshot = RegisterSnapshot(GetActiveSnapshot());
    s->scan = table_beginscan(rel, s->snapshot, 0, nullptr);
    s->slot = table_slot_create(rel, nullptr);
    return s;
}

void close_scan(DirectScan* s) {
    ExecDropSingleTupleTableSlot(s->slot);
    table_endscan(s->scan);
    UnregisterSnapshot(s->snapshot);
    table_close(s->rel, NoLock);  // the lock stays until the transaction ends, as a query's would
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

// The row's time if it is dated up to as_of.
bool time_in_range(const DirectScan* s, Datum d, std::int64_t* time) {
    switch (s->spec.time_type) {
        case DATEOID: {
            const DateADT day = DatumGetDateADT(d);
            *time = day;
            return day <= s->last_date;  // +infinity is after every as_of, -infinity before
        }
        case TIMESTAMPTZOID:
            *time = DatumGetTimestampTz(d);
            return *time <= s->spec.as_of;
        default: {
            const Timestamp t = DatumGetTimestamp(d);
            *time = t;
            if (t <= s->surely_before) return true;
            if (t > s->surely_after) return false;
            return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, TimestampGetDatum(t))) <=
                   s->spec.as_of;
        }
    }
}

// Fills the batch with up to kBatchRows kept rows; returns false at the end of the table.
bool fill_batch(DirectScan* s, Batch* b) {
    b->rows = 0;
    CHECK_FOR_INTERRUPTS();
    while (b->rows < kBatchRows) {
        if (!table_scan_getnextslot(s->scan, ForwardScanDirection, s->slot)) return false;
        slot_getsomeattrs(s->slot, s->natts);
        const Datum* v = s->slot->tts_values;
        const bool* null = s->slot->tts_isnull;
        const int k = s->spec.key_att - 1, t = s->spec.time_att - 1, a = s->spec.amount_att - 1;
        std::int64_t time;
        if (null[k] || null[t] || null[a] || !time_in_range(s, v[t], &time)) {
            ++b->skipped;
            continue;
        }
        b->keys[b->rows] = key_value(v[k], s->spec.key_type);
        b->times[b->rows] = time;
        b->amounts[b->rows] = amount_value(v[a], s->spec.amount_type);
        ++b->rows;
    }
    return true;
}

// Local timestamps of the customers' last orders as timestamptz (C only).
void to_timestamptz(const std::int64_t* local, std::int64_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, TimestampGetDatum(local[i])));
        if ((i & 0xFFFF) == 0) CHECK_FOR_INTERRUPTS();
    }
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

OrderScanOutcome scan_order_totals(const OrderScanSpec& spec, OrderTotals& out) {
    if (!direct_scan_enabled() || !integer_key(spec.key_type) || !time_type(spec.time_type) ||
        !amount_type(spec.amount_type))
        return OrderScanOutcome::NotApplicable;
    const OrderScanSpec* specp = &spec;
    DirectScan* scan = pg_guard([specp] { return open_scan(specp); });
    if (scan == nullptr) return OrderScanOutcome::NotApplicable;

    std::vector<std::int64_t> keys(kBatchRows), times(kBatchRows);
    std::vector<double> amounts(kBatchRows);
    Batch batch{keys.data(), times.data(), amounts.data(), 0, 0};
    Batch* b = &batch;
    const std::size_t memory_limit = max_fit_memory_bytes();
    bool more = true;
    while (more) {
        more = pg_guard([scan, b] { return fill_batch(scan, b); });
        out.totals.add_batch(keys.data(), times.data(), amounts.data(), static_cast<std::size_t>(batch.rows));
        if (out.totals.memory_bytes() > memory_limit) {
            // Too many customers to hold: PostgreSQL's aggregate can spill to disk.
            pg_guard([scan] { close_scan(scan); });
            out = OrderTotals{};
            return OrderScanOutcome::NotApplicable;
        }
    }
    pg_guard([scan] { close_scan(scan); });
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
        out[i] = static_cast<std::int32_t>(floor_div(spec.as_of - utc[i], USECS_PER_DAY));
    }
    return out;
}

}  // namespace crm::pg
