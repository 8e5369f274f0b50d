#!/usr/bin/env bash
# The direct scans of an orders table give exactly the rows of the queries they
# replace (crm.direct_scan = off): crm.rfm_analyze (src/pg/order_scan.cpp),
# crm.cohort_retention (src/pg/cohort_scan.cpp) and crm.clv_analyze
# (src/pg/clv_scan.cpp), for every key, date and amount
# type they read, NULLs, rows after as_of, numerics the fast conversion cannot
# take, a time zone with daylight saving, every method and period; and they
# step aside (the query runs) for inheritance children, row-level security,
# types and values they do not handle, while a caller with SELECT on the
# columns only still gets the direct read.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database direct_scan

sql <<'SQL'
SET TimeZone = 'America/New_York';
CREATE TABLE orders_mix AS
SELECT CASE WHEN g % 101 = 0 THEN NULL ELSE (g * 7919) % 3001 END AS k8,
       ((g * 7919) % 3001)::int AS k4,
       ((g * 7919) % 3001)::smallint AS k2,
       CASE WHEN g % 97 = 0 THEN NULL ELSE date '2024-01-01' + ((g * 31) % 800)::int END AS d,
       -- around the 2024-11-03 DST change and midnight of as_of (2025-03-09 is also a DST day)
       timestamp '2025-03-07 00:00' + ((g * 613) % 5000) * interval '1 minute' - (g % 700) * interval '1 day' AS ts,
       timestamptz '2025-03-07 00:00-05' + ((g * 613) % 5000) * interval '1 minute' - (g % 700) * interval '1 day' AS tstz,
       CASE WHEN g % 89 = 0 THEN NULL
            WHEN g % 53 = 0 THEN 12345678901234567.891::numeric      -- past 2^53: the slow conversion
            WHEN g % 59 = 0 THEN 0.000000000000000000000000123::numeric
            WHEN g % 61 = 0 THEN -(g % 1000) / 7.0
            WHEN g % 67 = 0 THEN 123e24::numeric                         -- exponent past 10^22: slow
            ELSE round(((g * 104729) % 100000) / 100.0 + 0.005, (g % 4)::int) END AS amount_n,
       ((g * 104729) % 100000) / 100.0::float8 AS amount_f8,
       (((g * 104729) % 100000) / 100.0)::real AS amount_f4,
       ((g * 104729) % 1000)::int AS amount_i4,
       -- cohort revenue: numeric sums exactly, float8 sums of integers are exact in any order
       CASE WHEN g % 89 = 0 THEN NULL WHEN g % 61 = 0 THEN -(g % 1000) / 8.0
            ELSE round(((g * 104729) % 100000) / 100.0 + 0.005, (g % 4)::int) END AS amount_n2,
       CASE WHEN g % 89 = 0 THEN NULL ELSE ((g * 104729) % 1000)::float8 END AS amount_f8i
FROM generate_series(1::bigint, 60000) g;

-- Rows that differ between a query run with crm.direct_scan off and on (serial plans: the query sums
-- in scan order too); fails when the query returns fewer than min_rows rows.
CREATE FUNCTION query_paths_differ(q text, min_rows int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM set_config('max_parallel_workers_per_gather', '0', true);
  PERFORM set_config('crm.direct_scan', 'off', true);
  EXECUTE 'CREATE TEMP TABLE r_query AS ' || q;
  PERFORM set_config('crm.direct_scan', 'on', true);
  EXECUTE 'CREATE TEMP TABLE r_direct AS ' || q;
  SELECT count(*) INTO n FROM ((TABLE r_query EXCEPT ALL TABLE r_direct) UNION ALL (TABLE r_direct EXCEPT ALL TABLE r_query)) x;
  IF (SELECT count(*) FROM r_direct) < min_rows THEN RAISE EXCEPTION 'too few rows to compare'; END IF;
  DROP TABLE r_query;
  DROP TABLE r_direct;
  RETURN n;
END $$;

CREATE FUNCTION paths_differ(t regclass, k name, d name, a name, as_of timestamptz, m text) RETURNS bigint
LANGUAGE sql AS $$
  SELECT query_paths_differ(format('SELECT * FROM crm.rfm_analyze(%L, %L, %L, %L, as_of => %L, method => %L)',
                                   t, k, d, a, as_of, m), 1000)
$$;

CREATE FUNCTION cohort_paths_differ(t regclass, k name, d name, a name, p text) RETURNS bigint
LANGUAGE sql AS $$
  SELECT query_paths_differ(format('SELECT * FROM crm.cohort_retention(%L, %L, %L, %L, %L)', t, k, d, a, p), 3)
$$;
SQL

# Of psql's output on stdin: "<the first number printed> <how many DEBUG lines match pattern>", that is
# the differing rows (or a count) and how many calls read the table directly.
number_and_reads() {  # pattern
  local out
  out="$(cat)"
  echo "$(echo "$out" | grep -E '^[0-9]+$' | head -1) $(echo "$out" | grep -c "$1" || true)"
}

# Runs paths_differ with DEBUG1 on; prints "<differing rows> <direct reads>".
compare() {
  PGOPTIONS="-c TimeZone=America/New_York -c client_min_messages=debug1" \
    sql -c "SELECT paths_differ($1)" 2>&1 | number_and_reads 'direct scan'
}

for method in quantile ntile; do
  for key in k8 k4 k2; do
    check "$key, date, numeric, $method: same rows, read directly" "0 1" \
      "$(compare "'orders_mix', '$key', 'd', 'amount_n', '2025-03-09 12:00-04', '$method'")"
  done
  for dcol in ts tstz; do
    for amount in amount_n amount_f8 amount_f4 amount_i4; do
      check "k8, $dcol, $amount, $method: same rows, read directly" "0 1" \
        "$(compare "'orders_mix', 'k8', '$dcol', '$amount', '2025-03-06 23:30-05', '$method'")"
    done
  done
done
check "as_of at local midnight of a DST day (timestamp column)" "0 1" \
  "$(compare "'orders_mix', 'k8', 'ts', 'amount_f8', '2024-11-03 00:00-04', 'quantile'")"
sql -c "CREATE TABLE orders_nan AS SELECT k8, d, amount_n FROM orders_mix UNION ALL SELECT 1, '2024-06-01', 'NaN'"
check "a NaN amount: the same error either way" "22023 22023" \
  "$(for mode in off on; do sql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "SET crm.direct_scan = $mode" \
       -c "SELECT count(*) FROM crm.rfm_analyze('orders_nan', 'k8', 'd', 'amount_n', as_of => '2030-01-01')" \
       2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1; done | xargs)"
check "as_of before every order: no customers either way" \
  "$(sql -c "SET crm.direct_scan = off" -c "SELECT count(*) FROM crm.rfm_analyze('orders_mix', 'k8', 'd', 'amount_n', as_of => '2000-01-01')" 2>/dev/null)" \
  "$(sql -c "SELECT count(*) FROM crm.rfm_analyze('orders_mix', 'k8', 'd', 'amount_n', as_of => '2000-01-01')" 2>/dev/null)"

# crm.cohort_retention: the same rows either way; "<differing rows> <direct reads>".
compare_cohort() {  # arguments of cohort_paths_differ [, time zone]
  PGOPTIONS="-c TimeZone=${2:-America/New_York} -c client_min_messages=debug1" \
    sql -c "SELECT cohort_paths_differ($1)" 2>&1 | number_and_reads 'cohort_retention: direct scan'
}
for period in week month quarter; do
  for key in k8 k4 k2; do
    check "cohort $period, $key, date, numeric: same rows, read directly" "0 1" \
      "$(compare_cohort "'orders_mix', '$key', 'd', 'amount_n2', '$period'")"
  done
  for dcol in ts tstz; do
    for amount in amount_n2 amount_f8i amount_i4 NULL; do
      check "cohort $period, k8, $dcol, $amount: same rows, read directly" "0 1" \
        "$(compare_cohort "'orders_mix', 'k8', '$dcol', $( [ $amount = NULL ] && echo NULL || echo "'$amount'" ), '$period'")"
    done
  done
done
# Paraguay began daylight saving at 00:00 on 2023-10-01: that local midnight does not exist.
sql -c "CREATE TABLE orders_asu AS SELECT (g % 40) AS k, timestamptz '2023-09-20 12:00-03' + (g * 7 % 150) * interval '1 day' AS at,
                                          (g % 50)::numeric AS amount FROM generate_series(1, 2000) g"
check "cohort: a month starting at a missing local midnight, same rows" "0 1" \
  "$(compare_cohort "'orders_asu', 'k', 'at', 'amount', 'month'" America/Asuncion)"
check "cohort: numeric sums past 128 bits fall back to the query, same rows" "0 0" \
  "$(compare_cohort "'orders_mix', 'k8', 'd', 'amount_n', 'month'")"
check "cohort: real amounts (summed in real) take the query" "0 0" \
  "$(compare_cohort "'orders_mix', 'k8', 'd', 'amount_f4', 'month'")"
sql -c "CREATE TABLE orders_text AS SELECT k8::text AS k, d, amount_n2 FROM orders_mix"
check "cohort: text keys take the query" "0 0" "$(compare_cohort "'orders_text', 'k', 'd', 'amount_n2', 'month'")"
check "cohort: an unknown column is the query's 42703" "42703" \
  "$(sql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "SELECT count(*) FROM crm.cohort_retention('orders_mix', 'k8', 'nope')" 2>&1 \
     | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"

# crm.clv_analyze: the same rows either way (summaries, fits, scores: the same doubles);
# "<differing rows> <direct reads>". Amounts >= 0 (a negative one is an error either way, below).
sql <<'SQL'
-- Customers with a pace of their own and a geometric number of orders (so BG/NBD is identified), some
-- orders after as_of, NULLs, times of day around midnight, numerics of 20 digits (the slow conversion).
CREATE TABLE orders_clv AS
WITH customers AS (
    SELECT c, abs(hashint4(c * 3)) % 300 AS start_day, 3 + abs(hashint4(c * 7)) % 60 AS mean_gap,
           1 + floor(-ln((1 + abs(hashint4(c * 13)) % 9973) / 9974.0) * (2 + abs(hashint4(c * 17)) % 24))::int AS n
    FROM generate_series(1, 4000) c),
orders AS (
    SELECT u.c, k, u.start_day + sum(CASE WHEN k = 0 THEN 0
                                          ELSE ceil(-ln((1 + abs(hashint4(u.c * 1000 + k)) % 9973) / 9974.0) * u.mean_gap) END)
                                     OVER (PARTITION BY u.c ORDER BY k) AS day
    FROM customers u, generate_series(0, u.n - 1) k),
rows AS (
    SELECT c, k, date '2023-01-01' + day::int AS d,
           timestamp '2023-01-01 00:00' + day * interval '1 day' + ((c * 613 + k * 97) % 1440) * interval '1 minute' AS ts,
           CASE WHEN (c + k) % 53 = 0 THEN 12.345678901234567891
                ELSE round((10 + abs(hashint4(c * 11)) % 150 + abs(hashint4(c * 1000 + k + 7)) % 40)::numeric, 2) END AS amount
    FROM orders)
SELECT CASE WHEN (c * 31 + k) % 101 = 0 THEN NULL ELSE (c::bigint * 7919) % 100003 END AS k8,
       ((c * 7919) % 100003)::int AS k4, c::smallint AS k2,
       CASE WHEN (c + 3 * k) % 97 = 0 THEN NULL ELSE d END AS d,
       ts, ts AT TIME ZONE 'America/New_York' AS tstz,
       CASE WHEN (c + 5 * k) % 89 = 0 THEN NULL ELSE amount END AS amount_n,
       amount::float8 AS amount_f8, amount::real AS amount_f4, round(amount)::int AS amount_i4
FROM rows;
CREATE FUNCTION clv_paths_differ(t regclass, k name, d name, a name, unit text, as_of date) RETURNS bigint
LANGUAGE sql AS $$
  SELECT query_paths_differ(format('SELECT * FROM crm.clv_analyze(%L, %L, %L, %L, as_of => %L, time_unit => %L)',
                                   t, k, d, a, as_of, unit), 1000)
$$;
SQL
compare_clv() {  # arguments of clv_paths_differ
  PGOPTIONS="-c TimeZone=America/New_York -c client_min_messages=debug1" \
    sql -c "SELECT clv_paths_differ($1)" 2>&1 | number_and_reads 'clv_analyze: direct scan'
}
for key in k8 k4 k2; do
  check "clv, $key, date, numeric: same rows, read directly" "0 1" \
    "$(compare_clv "'orders_clv', '$key', 'd', 'amount_n', 'week', '2024-06-30'")"
done
for dcol in ts tstz; do
  for amount in amount_n amount_f8 amount_f4 amount_i4; do
    check "clv, k8, $dcol, $amount, days: same rows, read directly" "0 1" \
      "$(compare_clv "'orders_clv', 'k8', '$dcol', '$amount', 'day', '2024-03-10'")"
  done
done
check "clv_analyze_typed with integer keys: same rows, read directly" "0 1" \
  "$(PGOPTIONS="-c client_min_messages=debug1" sql -c "SELECT query_paths_differ(
       'SELECT * FROM crm.clv_analyze_typed(''orders_clv'', ''k4'', ''d'', ''amount_n'', NULL::integer, as_of => ''2024-06-30'')', 1000)" 2>&1 \
     | number_and_reads 'clv_analyze: direct scan')"
check "clv: a negative amount is the same error either way" "22023 22023" \
  "$(for mode in off on; do sql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "SET crm.direct_scan = $mode" \
       -c "SELECT count(*) FROM crm.clv_analyze('orders_mix', 'k8', 'd', 'amount_n2', as_of => '2025-06-30')" \
       2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1; done | xargs)"
check "clv: fits that do not converge give the query's warnings and error either way" "2 22023 2 22023" \
  "$(for mode in off on; do sql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "SET crm.direct_scan = $mode" \
       -c "SELECT count(*) FROM crm.clv_analyze('orders_mix', 'k8', 'd', 'amount_f8', as_of => '2025-06-30')" 2>&1 \
       | { out="$(cat)"; echo "$(echo "$out" | grep -c '^WARNING:  01000: .* did not converge') $(echo "$out" \
           | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"; }; done | xargs)"
sql -c "CREATE TABLE orders_clv_wide AS SELECT k4, d, amount_n FROM orders_clv WHERE k4 < 32000
          UNION ALL SELECT 100000, date '2030-01-01', 5"
check "clv: a smallint key_type casts every row's key, as the query does (an order after as_of too)" "22003 22003" \
  "$(for mode in off on; do sql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "SET crm.direct_scan = $mode" \
       -c "SELECT count(*) FROM crm.clv_analyze_typed('orders_clv_wide', 'k4', 'd', 'amount_n', NULL::smallint, as_of => '2024-06-30')" \
       2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1; done | xargs)"
sql -c "CREATE TABLE orders_clv_text AS SELECT k8::text AS k, d, amount_n FROM orders_clv"
check "clv: text keys take the query, same rows" "0 0" \
  "$(PGOPTIONS="-c client_min_messages=debug1" sql -c "SELECT query_paths_differ(
       'SELECT * FROM crm.clv_analyze_typed(''orders_clv_text'', ''k'', ''d'', ''amount_n'', NULL::text, as_of => ''2024-06-30'')', 1000)" 2>&1 \
     | number_and_reads 'clv_analyze: direct scan')"

# Where the direct scan would not see what the query sees, the query runs (0 direct reads).
sql <<'SQL'
CREATE TABLE orders_parent AS SELECT k8, d, amount_n FROM orders_mix WHERE k8 < 1500;
CREATE TABLE orders_child () INHERITS (orders_parent);
INSERT INTO orders_child SELECT k8, d, amount_n FROM orders_mix WHERE k8 >= 1500;
CREATE TABLE orders_rls AS SELECT k8, d, amount_n FROM orders_mix;
ALTER TABLE orders_rls ENABLE ROW LEVEL SECURITY;
SET client_min_messages = warning;
DROP ROLE IF EXISTS direct_scan_reader;
CREATE ROLE direct_scan_reader;
GRANT USAGE ON SCHEMA crm TO direct_scan_reader;
GRANT SELECT ON orders_rls TO direct_scan_reader;
CREATE POLICY half ON orders_rls FOR SELECT TO direct_scan_reader USING (k8 % 2 = 0);
CREATE TABLE orders_cols AS SELECT k8, d, amount_n, amount_f8 AS secret_amount FROM orders_mix;
GRANT SELECT (k8, d, amount_n) ON orders_cols TO direct_scan_reader;
GRANT EXECUTE ON FUNCTION paths_differ(regclass, name, name, name, timestamptz, text), query_paths_differ(text, int)
  TO direct_scan_reader;
SQL
check "inheritance children: the query runs, same rows" "0 0" \
  "$(compare "'orders_parent', 'k8', 'd', 'amount_n', '2025-03-09', 'quantile'")"
check "the children's customers are in the result" "3001" \
  "$(sql -c "SELECT count(*) FROM crm.rfm_analyze('orders_parent', 'k8', 'd', 'amount_n', as_of => '2030-01-01')" 2>/dev/null)"
check "row-level security for the caller: the query runs, the policy filters" "1501 0" \
  "$(PGOPTIONS="-c client_min_messages=debug1" sql -c "SET ROLE direct_scan_reader" \
       -c "SELECT count(*) FROM crm.rfm_analyze('orders_rls', 'k8', 'd', 'amount_n', as_of => '2030-01-01')" 2>&1 \
     | number_and_reads 'direct scan')"
check "the table's owner is not subject to its policy and reads directly" "3001 1" \
  "$(PGOPTIONS="-c client_min_messages=debug1" \
       sql -c "SELECT count(*) FROM crm.rfm_analyze('orders_rls', 'k8', 'd', 'amount_n', as_of => '2030-01-01')" 2>&1 \
     | number_and_reads 'direct scan')"
check "SELECT on the three columns only: read directly, same rows" "0 1" \
  "$(PGOPTIONS="-c client_min_messages=debug1" sql -c "SET ROLE direct_scan_reader" \
       -c "SELECT paths_differ('orders_cols', 'k8', 'd', 'amount_n', '2025-03-09', 'quantile')" 2>&1 \
     | number_and_reads 'direct scan')"
check "no SELECT on a column: the query's permission error" "42501" \
  "$(sql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "SET ROLE direct_scan_reader" \
       -c "SELECT count(*) FROM crm.rfm_analyze('orders_cols', 'k8', 'd', 'secret_amount', as_of => '2030-01-01')" 2>&1 \
     | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"
check "an uncommitted insert of the same transaction is seen, as by the query" "3002" \
  "$(sql -c "BEGIN" -c "INSERT INTO orders_mix (k8, d, amount_n) VALUES (999999, '2025-01-01', 1)" \
       -c "SELECT count(*) FROM crm.rfm_analyze('orders_mix', 'k8', 'd', 'amount_n', as_of => '2030-01-01')" -c "ROLLBACK" 2>/dev/null | grep -E '^[0-9]+$')"
sql -c "DROP OWNED BY direct_scan_reader" -c "DROP ROLE direct_scan_reader"
[ "$failures" -eq 0 ]
