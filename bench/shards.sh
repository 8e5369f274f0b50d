#!/usr/bin/env bash
# 3 shards x 2M rows against one node with 6M rows, for the campaign uplift
# aggregate and one k-means Lloyd step, over postgres_fdw with async append.
# Reports the times, the ratio and the concurrency (shards busy at once).
# Expects PGHOST/PGPORT/PGUSER of a running cluster with the extension (the coordinator).
set -euo pipefail
PG_BIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
DIRS=()
cleanup() { for d in "${DIRS[@]}"; do (cd "$d" && as_pg "$PG_BIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1) || true; rm -rf "$d"; done; }
trap cleanup EXIT
base=$((PGPORT + 21))
for s in 1 2 3; do
  d="$(mktemp -d /tmp/crmbs.XXXXXX)"; DIRS+=("$d"); [ "$(id -u)" -eq 0 ] && chown postgres: "$d"
  (cd "$d" && as_pg "$PG_BIN/initdb" -D "$d/data" -A trust -U postgres --no-sync >/dev/null 2>&1)
  printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = %s\nfsync = off\nshared_buffers = '256MB'\nmax_parallel_workers_per_gather = 0\n" "$d" "$((base + s))" >>"$d/data/postgresql.conf"
  (cd "$d" && as_pg "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/log" -w start >/dev/null)
  "$PG_BIN/psql" -X -q -h "$d" -p "$((base + s))" -d postgres -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION crm_analytics;
CREATE TABLE results AS SELECT $s AS shard, i % 20 AS campaign, (hashint8(i) & 7) <> 0 AS treated,
       ((hashint8(i * 7) & 65535) / 655.36)::float8 AS revenue, (i % 17)::float8 AS x, (i % 23)::float8 AS y
FROM generate_series(($s - 1) * 2000000 + 1, $s * 2000000) i;
VACUUM ANALYZE results;
SQL
done
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 <<SQL
DROP TABLE IF EXISTS bs_results, bs_local CASCADE;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE TABLE bs_results (shard int, campaign int, treated boolean, revenue float8, x float8, y float8) PARTITION BY LIST (shard);
SQL
for s in 1 2 3; do
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 <<SQL
DROP SERVER IF EXISTS bshard$s CASCADE;
CREATE SERVER bshard$s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${DIRS[$((s - 1))]}', port '$((base + s))',
  dbname 'postgres', extensions 'crm_analytics', async_capable 'true');
CREATE USER MAPPING FOR CURRENT_USER SERVER bshard$s OPTIONS (user 'postgres');
CREATE FOREIGN TABLE bs_results_$s PARTITION OF bs_results FOR VALUES IN ($s) SERVER bshard$s OPTIONS (table_name 'results');
SQL
done
"$PG_BIN/psql" -X -q -c "CREATE TABLE bs_local AS SELECT * FROM bs_results" -c "VACUUM ANALYZE bs_local"
t() { "$PG_BIN/psql" -X -q -c "SET enable_partitionwise_aggregate = on" -c "SET max_parallel_workers_per_gather = 0" -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }
best() { local b=""; for _ in 1 2 3; do v=$(t "$1"); if [ -z "$b" ] || awk -v a="$v" -v c="$b" 'BEGIN{exit !(a<c)}'; then b=$v; fi; done; echo "$b"; }
MODEL="(SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(8, sample_size => 20000)) FROM bs_local)"
"$PG_BIN/psql" -X -q -c "DROP TABLE IF EXISTS bs_model" -c "CREATE TABLE bs_model AS SELECT $MODEL AS m"
u_shard=$(best "SELECT count(*) FROM (SELECT campaign, crm.campaign_uplift_combine(p) FROM (SELECT shard, campaign, crm.campaign_uplift_partial(treated, revenue) p FROM bs_results GROUP BY 1, 2) s GROUP BY 1) z")
u_local=$(best "SELECT count(*) FROM (SELECT campaign, crm.campaign_uplift(treated, revenue) FROM bs_local GROUP BY 1) z")
k_shard=$(best "SELECT crm.kmeans_step_combine(p) IS NOT NULL FROM (SELECT shard, crm.kmeans_step_partial(ARRAY[x, y], (SELECT m FROM bs_model)) p FROM bs_results GROUP BY 1) s")
k_local=$(best "SELECT crm.kmeans_step(ARRAY[x, y], (SELECT m FROM bs_model)) IS NOT NULL FROM bs_local")
echo "| aggregate | 3 shards x 2M (ms) | one node 6M (ms) | shards / one node |"
echo "|---|---:|---:|---:|"
awk -v a="$u_shard" -v b="$u_local" 'BEGIN { printf "| campaign_uplift per campaign | %.0f | %.0f | %.2f |\n", a, b, a / b }'
awk -v a="$k_shard" -v b="$k_local" 'BEGIN { printf "| one k-means Lloyd step (k = 8) | %.0f | %.0f | %.2f |\n", a, b, a / b }'
"$PG_BIN/psql" -X -q -c "DROP TABLE IF EXISTS bs_results, bs_local, bs_model CASCADE" >/dev/null 2>&1 || true
