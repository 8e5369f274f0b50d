#!/usr/bin/env bash
# Scale-out over postgres_fdw: three shard clusters (private ports, unix
# sockets, stopped on exit) each hold a hash partition of generated data; the
# coordinator (the test cluster) sees them as a partitioned table of foreign
# tables. Asserts: the plan is an Async Foreign Scan with our _partial
# aggregates in the remote SQL; the combined results equal the single-node
# results (1e-9); and the shards really run concurrently (a shard view that
# sleeps 1 s: the fan-out takes < 2.5 s, and > 3 s with enable_async_append off).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
"$PG_BIN/psql" -X -At -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'postgres_fdw'" | grep -q 1 ||
  skip "postgres_fdw is not installed (postgresql-contrib)"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
SHARD_DIRS=()
fresh_database shards   # sets an EXIT trap of its own: ours, below, replaces it and also drops the database
cleanup() {
  for d in "${SHARD_DIRS[@]}"; do
    (cd "$d" && as_pg "$PG_BIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1) || true
    rm -rf "$d"
  done
  "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS crm_it_shards" >/dev/null 2>&1 || true
}
trap cleanup EXIT
base_port=$((PGPORT + 11))
for s in 1 2 3; do
  d="$(mktemp -d /tmp/crmsh.XXXXXX)"; SHARD_DIRS+=("$d")
  [ "$(id -u)" -eq 0 ] && chown postgres: "$d"
  (cd "$d" && as_pg "$PG_BIN/initdb" -D "$d/data" -A trust -U postgres --no-sync >/dev/null 2>&1)
  printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = %s\nfsync = off\nmax_parallel_workers_per_gather = 0\n" \
         "$d" "$((base_port + s))" >>"$d/data/postgresql.conf"
  (cd "$d" && as_pg "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/log" -w start >/dev/null)
  "$PG_BIN/psql" -X -q -h "$d" -p "$((base_port + s))" -d postgres -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION crm_analytics;
CREATE TABLE results AS
SELECT $s AS shard, c AS campaign, (hashint8(c * 1000003 + i) & 7) <> 0 AS treated,
       ((hashint8(i * 31 + c) & 65535) / 655.36 + c)::float8 AS revenue
FROM generate_series(1, 4) c, generate_series(1, 200000) i WHERE abs(hashint8(i)) % 3 = $s - 1;
CREATE TABLE summary AS SELECT $s AS shard, i AS customer_id, (i * 37 % 365)::float8 AS r, (1 + i % 9)::float8 AS f,
                               (i * 53 % 1000)::float8 AS m FROM generate_series(1, 60000) i WHERE i % 3 = $s - 1;
CREATE VIEW slow_results AS SELECT r.* FROM results r, (SELECT pg_sleep(1)) s;
CREATE TABLE points AS SELECT $s AS shard, i, (i % 17)::float8 AS x, (i % 23)::float8 + (i % 5) / 5.0 AS y
FROM generate_series(1, 90000) i WHERE i % 3 = $s - 1;
ANALYZE results; ANALYZE summary;
SQL
done

sql <<SQL
CREATE EXTENSION postgres_fdw;
CREATE TABLE results (shard int, campaign int, treated boolean, revenue float8) PARTITION BY LIST (shard);
CREATE TABLE slow_results (shard int, campaign int, treated boolean, revenue float8) PARTITION BY LIST (shard);
CREATE TABLE summary (shard int, customer_id int, r float8, f float8, m float8) PARTITION BY LIST (shard);
CREATE TABLE points (shard int, i int, x float8, y float8) PARTITION BY LIST (shard);
SQL
for s in 1 2 3; do
  sql <<SQL
CREATE SERVER shard$s FOREIGN DATA WRAPPER postgres_fdw
  OPTIONS (host '${SHARD_DIRS[$((s - 1))]}', port '$((base_port + s))', dbname 'postgres',
           extensions 'crm_analytics', async_capable 'true', fetch_size '10000');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$s OPTIONS (user 'postgres');
CREATE FOREIGN TABLE results_$s PARTITION OF results FOR VALUES IN ($s) SERVER shard$s OPTIONS (table_name 'results');
CREATE FOREIGN TABLE slow_$s PARTITION OF slow_results FOR VALUES IN ($s) SERVER shard$s OPTIONS (table_name 'slow_results');
CREATE FOREIGN TABLE summary_$s PARTITION OF summary FOR VALUES IN ($s) SERVER shard$s OPTIONS (table_name 'summary');
CREATE FOREIGN TABLE points_$s PARTITION OF points FOR VALUES IN ($s) SERVER shard$s OPTIONS (table_name 'points');
SQL
done
# The same data on one node, for the comparison.
sql -c "CREATE TABLE results_local AS SELECT * FROM results" -c "CREATE TABLE summary_local AS SELECT * FROM summary" \
    -c "CREATE TABLE points_local AS SELECT * FROM points"

SHARDED="SET enable_partitionwise_aggregate = on;
SELECT campaign, crm.campaign_uplift_combine(p) AS u FROM (
  SELECT shard, campaign, crm.campaign_uplift_partial(treated, revenue) AS p FROM results GROUP BY shard, campaign) s
GROUP BY campaign"
plan=$(sql -c "SET enable_partitionwise_aggregate = on" -c "EXPLAIN (VERBOSE, COSTS OFF) ${SHARDED#*;}")
async=$(echo "$plan" | grep -c "Async Foreign Scan" || true)
remote=$(echo "$plan" | grep -c "Remote SQL: SELECT .*crm.campaign_uplift_partial" || true)
echo "  plan: $async Async Foreign Scan nodes, $remote with crm.campaign_uplift_partial in the remote SQL"
[ "$async" -eq 3 ] && [ "$remote" -eq 3 ] || { echo "$plan"; fail "the partial aggregate is not pushed down to the shards asynchronously"; }

diff_uplift=$(sql -c "SET enable_partitionwise_aggregate = on" -c "
  WITH sharded AS (${SHARDED#*;}),
       local AS (SELECT campaign, crm.campaign_uplift(treated, revenue) AS u FROM results_local GROUP BY campaign)
  SELECT max(greatest(abs((s.u).uplift - (l.u).uplift), abs((s.u).ci_low - (l.u).ci_low),
                      abs((s.u).ci_high - (l.u).ci_high), abs((s.u).p_value - (l.u).p_value)))
         || ' ' || bool_and((s.u).treated_n = (l.u).treated_n AND (s.u).control_n = (l.u).control_n)
  FROM sharded s JOIN local l USING (campaign)")
diff_rfm=$(sql -c "SET enable_partitionwise_aggregate = on" -c "
  SELECT (SELECT crm.rfm_thresholds_combine(p) FROM (SELECT shard, crm.rfm_thresholds_partial(r, f, m) AS p FROM summary GROUP BY shard) s)
       = (SELECT crm.rfm_thresholds(r, f, m) FROM summary_local)")
echo "  campaign uplift, 3 shards vs one node: largest difference $diff_uplift (counts equal); RFM thresholds equal: $diff_rfm"
awk -v d="${diff_uplift% *}" 'BEGIN { exit !(d < 1e-9) }' && [ "${diff_uplift#* }" = true ] && [ "$diff_rfm" = t ] ||
  fail "sharded results differ from the single-node results"

# k-means over the shards: one pushed-down Lloyd step per iteration, the same model as on one node.
kplan=$(sql -c "SET enable_partitionwise_aggregate = on" -c "EXPLAIN (VERBOSE, COSTS OFF)
  SELECT crm.kmeans_step_combine(p) FROM (SELECT shard, crm.kmeans_step_partial(ARRAY[x, y], (SELECT crm.kmeans_fit(ARRAY[x, y], 3) FROM points_local)) AS p
  FROM points GROUP BY 1) s" | grep -c "Remote SQL: SELECT .*crm.kmeans_step_partial" || true)
kshift=$(sql -c "SET enable_partitionwise_aggregate = on" -c "
  SELECT crm.kmeans_centroid_shift(crm.kmeans_fit_distributed('points', ARRAY['x', 'y'], 4, shard_col => 'shard', sample_size => 20000),
                                   crm.kmeans_fit_distributed('points_local', ARRAY['x', 'y'], 4, sample_size => 20000))")
echo "  distributed k-means: Lloyd step pushed to $kplan shards; centroid shift against the one-node fit $kshift"
[ "$kplan" -eq 3 ] && awk -v d="$kshift" 'BEGIN { exit !(d < 1e-12) }' || fail "distributed k-means differs or is not pushed down"

SLOW="SELECT campaign, crm.campaign_uplift_combine(p) FROM (
  SELECT shard, campaign, crm.campaign_uplift_partial(treated, revenue) AS p FROM slow_results GROUP BY shard, campaign) s GROUP BY campaign"
time_of() { sql -c "SET enable_partitionwise_aggregate = on" -c "SET enable_async_append = $1" -c '\timing on' -c "$SLOW" |
            sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }
t_async=$(time_of on)
t_serial=$(time_of off)
echo "  three shards each sleeping 1 s: ${t_async} ms with async append, ${t_serial} ms without"
awk -v a="$t_async" -v s="$t_serial" 'BEGIN { exit !(a < 2500 && s > 3000) }' || fail "the shards did not run concurrently"
