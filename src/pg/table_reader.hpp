// Reading a table's rows without the executor, for functions whose SQL would
// be one scan feeding one aggregation (order_scan.cpp, cohort_scan.cpp).
//
// open_direct_table() says no (nullptr) unless reading directly sees exactly
// what `SELECT <columns> FROM <table>` would: crm.direct_scan is on, no
// executor permission hook is installed (sepgsql, pgaudit: they must see the
// read), the relation is a plain table without inheritance children and not
// another session's temporary table, no row-level security policy applies to
// the caller, the caller may SELECT the table or the columns read, and the
// columns still have the types the caller resolved. Every check is made with
// AccessShareLock held, so a concurrent ALTER TABLE cannot slip in between.
// The scan uses the query's active snapshot (what a read-only SPI query sees)
// and keeps the lock to the end of the transaction, as a query would.
//
// Everything declared here calls PostgreSQL and may raise an ERROR: call it
// inside pg_guard, from code with no live C++ objects (C-only loops).
#pragma once

#include <cstdint>

#include "pg_includes.hpp"

namespace crm::pg {

struct DirectTable;

DirectTable* open_direct_table(Oid relid, const AttrNumber* columns, const Oid* types, int ncolumns);

// The next row's values and null flags, indexed by attribute number - 1;
// false at the end. Checks for interrupts every so often. Call it between
// begin_direct_batch and end_direct_batch: conversions of the values may
// allocate (numeric_float8, detoasting), and each batch's allocations are
// freed when the next batch begins.
bool next_direct_row(DirectTable* table, const Datum** values, const bool** nulls);
void begin_direct_batch(DirectTable* table);
void end_direct_batch(DirectTable* table);

void close_direct_table(DirectTable* table);

// What a batch filler makes of one row.
enum class DirectRow { Taken, Skipped, Refused };

// Fills one batch: row(values, nulls, position) for each next row of the
// table, position being the number of rows taken so far, until max_rows rows
// are taken or the table ends. Returns 1 for a full batch, 0 at the end of
// the table (rows may have been taken), -1 when row() refused a row (a value
// the SQL path must judge); *taken counts the rows taken. C-only like the
// rest of this file (row must not throw).
template <class Row>
int fill_direct_batch(DirectTable* table, int max_rows, int* taken, const Row& row) {
    *taken = 0;
    const Datum* values;
    const bool* nulls;
    int status = 1;
    begin_direct_batch(table);
    while (*taken < max_rows) {
        if (!next_direct_row(table, &values, &nulls)) {
            status = 0;
            break;
        }
        const DirectRow verdict = row(values, nulls, *taken);
        if (verdict == DirectRow::Refused) {
            status = -1;
            break;
        }
        if (verdict == DirectRow::Taken) ++*taken;
    }
    end_direct_batch(table);
    return status;
}

// numeric to float8 exactly as numeric_float8 (a cast) converts it (the
// correctly rounded double), without its text round trip: values of at most
// 16 significant digits and a decimal exponent within 22 by one IEEE
// operation; longer ones from their first 19 digits in an x87 long double
// when its rounding cannot differ, else from their exact digits by
// std::from_chars; anything else by the cast itself.
double numeric_to_double(Datum numeric);
// The same without calling PostgreSQL: false (and *out untouched) when only
// the cast can tell (NaN, infinities, a compressed or out-of-line value, more
// than 400 digits, digits stored past the display scale, a result out of the
// normal range).
bool numeric_to_double_fast(Datum numeric, double* out);

// numeric as units x 10^-scale with scale its display scale (dscale), as
// numeric's own sum would carry it. False for NaN, infinities and values of
// more than 36 significant digits.
bool numeric_to_decimal(Datum numeric, __int128* units, int* scale);

// A column of a relation by name: its number and type, or InvalidAttrNumber
// when there is no such user column (the SQL path then reports the error).
AttrNumber user_column(Oid relid, const char* name, Oid* type);

// Whether a value can be cast to timestamptz (and back) in any time zone:
// within two days of the ends of the timestamp range. Outside that window
// the SQL casts may raise "out of range", so the direct paths step aside.
bool timestamp_safely_inside(Timestamp t);
bool date_safely_inside(DateADT d);

}  // namespace crm::pg
