// A direct read of an orders table into per-customer totals (last order,
// count, sum): the per-customer GROUP BY of RFM analysis without the executor
// and its generic hash aggregate.
//
// Used only where it is provably the same as the SQL the functions would run
// otherwise: crm.direct_scan is on, the table is a plain table without
// inheritance children, no row-level security policy applies to the caller,
// the caller may SELECT the three columns, and the column types are ones the
// reader converts exactly as the SQL casts do (integer keys; date, timestamp
// or timestamptz; smallint, integer, bigint, real, double precision or
// numeric amounts). Anything else runs the SQL path, which also raises the
// permission and type errors. The scan sees the query's snapshot, like SPI.
#pragma once

#include <cstdint>
#include <vector>

#include "customer_totals.hpp"

#include "pg_includes.hpp"

namespace crm::pg {

struct OrderScanSpec {
    Oid relid = InvalidOid;
    AttrNumber key_att = InvalidAttrNumber, time_att = InvalidAttrNumber, amount_att = InvalidAttrNumber;
    Oid key_type = InvalidOid, time_type = InvalidOid, amount_type = InvalidOid;
    TimestampTz as_of = 0;  // rows dated after as_of are skipped, as the SQL path's `date <= as_of`
};

// Per-customer totals of the rows dated up to as_of. Times are days (date
// columns) or microseconds (timestamp: local time; timestamptz: UTC).
struct OrderTotals {
    crm::CustomerTotals totals;
    std::int64_t skipped_rows = 0;  // NULL key, date or amount, or dated after as_of
};

enum class OrderScanOutcome {
    Done,
    NotApplicable,  // the SQL path must run (conditions above, or the totals outgrew crm.max_fit_memory)
};

// Reads the table if the conditions hold; returns NotApplicable (and leaves
// `out` empty) otherwise.
OrderScanOutcome scan_order_totals(const OrderScanSpec& spec, OrderTotals& out);

// Whole days from each customer's last order to as_of, as the SQL path
// computes them: `as_of::date - last` for date columns, the floor of the
// elapsed days for timestamps (timestamp values taken in the session's time
// zone). Empty when a last order is -infinity (the SQL path raises the error).
std::vector<std::int32_t> recency_days(const OrderScanSpec& spec, const crm::CustomerTotals& totals);

}  // namespace crm::pg
