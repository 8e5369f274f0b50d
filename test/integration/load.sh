#!/usr/bin/env bash
# Load and leaks: pgbench with 8 clients mixing the main calls, twice: no
# failed transaction. Then one long-lived backend runs rounds of the same
# calls (error paths included): its private memory (RssAnon) must not grow
# from round to round, so nothing leaks across calls.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database load
work="$(mktemp -d)"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT
sql <<'SQL'
CREATE TABLE orders AS SELECT i % 500 AS c, date '2024-01-01' + (i % 365) AS d, (i % 97)::numeric AS a FROM generate_series(1, 20000) i;
CREATE TABLE ratings AS SELECT 1 + (i * 7919) % 800 AS u, 1 + (i * 104729) % 300 AS it, 1 + i % 5 AS r FROM generate_series(1, 20000) i;
SELECT crm.cf_track_changes('ratings');
CREATE TABLE results AS SELECT i % 4 AS campaign, i % 5 <> 0 AS treated, (i % 37)::float8 AS revenue FROM generate_series(1, 20000) i;
CREATE TABLE readings AS SELECT s AS shipment, timestamptz '2025-01-01' + m * interval '5 minutes' AS ts, 4 + m / 20.0 + (m % 3) / 10.0 AS temp
FROM generate_series(1, 50) s, generate_series(0, 60) m;
CREATE TABLE km AS SELECT crm.kmeans_fit(ARRAY[c::float8, a::float8], 4) AS model FROM orders;
CREATE TABLE th AS SELECT crm.rfm_thresholds(c, a, c + a) AS t FROM orders;
SQL
cat >"$work/mix.sql" <<'SQL'
\set u random(1, 800)
\set c random(1, 499)
SELECT count(*) FROM crm.rfm_analyze('orders', 'c', 'd', 'a', as_of => '2025-01-01');
SELECT crm.kmeans_assign(model, ARRAY[:c, 42.0]) FROM km;
SELECT count(*) FROM crm.cf_recommend('ratings', 'u', 'it', 'r', :u);
SELECT (crm.campaign_uplift(treated, revenue)).p_value FROM results WHERE campaign = :c % 4;
SELECT (crm.temp_fit(ts, temp)).tau FROM readings WHERE shipment = :c % 50 + 1;
SELECT (crm.rfm_score(t, :c, 3, 40)).segment FROM th;
SQL
for run in 1 2; do
  (cd "$work" && "$PG_BIN/pgbench" -n -c 8 -j 2 -T 8 -f mix.sql >"$work/pgbench$run.log" 2>&1) || true
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench$run.log")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench$run.log")
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench$run.log")
  echo "  pgbench run $run: 8 clients, 8 s: $tx transactions (${tps} tps), ${failed:-?} failed"
  [ -n "$tx" ] && [ "$tx" -gt 0 ] && [ "${failed:-1}" = 0 ] || { cat "$work/pgbench$run.log"; fail "pgbench run $run failed"; }
done

# One backend, rounds of calls including errors caught in PL/pgSQL; RssAnon after each round.
cat >"$work/round.sql" <<'SQL'
DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..40 LOOP
    PERFORM count(*) FROM crm.rfm_analyze('orders', 'c', 'd', 'a', as_of => '2025-01-01');
    PERFORM crm.kmeans_assign(model, ARRAY[i::float8, 1.0]) FROM km;
    PERFORM count(*) FROM crm.cf_recommend('ratings', 'u', 'it', 'r', i);
    PERFORM count(*) FROM crm.cf_predict('ratings', 'u', 'it', 'r', ARRAY[i], ARRAY[5]);
    PERFORM crm.campaign_uplift(treated, revenue) FROM results;
    PERFORM crm.temp_fit(ts, temp) FROM readings WHERE shipment = i;
    PERFORM crm.kmeans_fit(ARRAY[c::float8, a::float8], 3) FROM orders WHERE c < 100;
    PERFORM count(*) FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 8, as_of => '2025-01-02');
    BEGIN PERFORM crm.kmeans_fit(ARRAY[1.0, 'NaN'], 1); EXCEPTION WHEN OTHERS THEN NULL; END;
    BEGIN PERFORM * FROM crm.rfm_analyze('orders', 'nope', 'd', 'a'); EXCEPTION WHEN OTHERS THEN NULL; END;
    BEGIN PERFORM crm.rfm_segment(9, 9); EXCEPTION WHEN OTHERS THEN NULL; END;
    BEGIN PERFORM crm.temp_fit(now(), 'Infinity'); EXCEPTION WHEN OTHERS THEN NULL; END;
  END LOOP;
END $$;
SELECT 'rss ' || (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1];
SQL
rounds=""
{ for r in 1 2 3 4; do cat "$work/round.sql"; done; } | sql -v ON_ERROR_STOP=1 >"$work/rounds.log" 2>&1 || { cat "$work/rounds.log"; fail "rounds failed"; }
mapfile -t rss < <(sed -n 's/^rss //p' "$work/rounds.log")
echo "  one backend, 4 rounds of 480 calls (each function, errors included): RssAnon kB ${rss[*]}"
growth=$(( rss[3] - rss[1] ))
echo "  growth from round 2 to round 4: ${growth} kB"
[ "${#rss[@]}" -eq 4 ] && [ "$growth" -lt 2048 ] || fail "backend memory grows across calls"
