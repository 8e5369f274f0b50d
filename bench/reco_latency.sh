#!/usr/bin/env bash
# Latency of the product-page, per-user item-kNN and per-user ALS (fold-in) calls under load, on the
# 1.08M-rating data set of the performance issue (50k users, 20k items, steep
# popularity), the table registered with crm.cf_track_changes so each backend
# keeps its rating matrix (and the neighbour lists built from it). pgbench
# with CLIENTS clients (default 8) for SECONDS_RUN seconds per call; the
# calls before every client has finished its first (cold, building) call are
# left out. Prints p50/p95/p99 per call.
# Expects PGHOST/PGPORT/PGUSER of a running cluster with the extension.
set -euo pipefail
PG_BIN=/usr/lib/postgresql/15/bin
CLIENTS="${CLIENTS:-8}"
SECONDS_RUN="${SECONDS_RUN:-25}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 <<'SQL'
DROP TABLE IF EXISTS lat_r, lat_nb;
CREATE TABLE lat_r AS SELECT DISTINCT ON (u, i) u, i, r FROM (SELECT
  (abs(hashint4(g)) % 50000) + 1 AS u, (floor(20000 * power((abs(hashint4(g + 99)) % 1000000) / 1000000.0,
  3)))::int + 1 AS i, ((abs(hashint4(g + 7)) % 5) + 1)::float8 AS r FROM generate_series(1, 1100000) g) s;
VACUUM ANALYZE lat_r;
SELECT crm.cf_track_changes('lat_r');
CREATE TABLE lat_nb AS SELECT * FROM crm.itemknn_fit('lat_r', 'u', 'i', 'r', k => 100);
CREATE INDEX ON lat_nb (item_id);
SELECT crm.cf_track_changes('lat_nb');
DROP TABLE IF EXISTS lat_models;
CREATE TABLE lat_models AS SELECT crm.als_fit('lat_r', 'u', 'i', 'r') AS als;
SQL
cat >"$work/similar_live.sql" <<'SQL'
\set i random(1, 20000)
SELECT count(*) FROM crm.similar_items('lat_r', 'u', 'i', 'r', :i, n => 10);
SQL
cat >"$work/similar_stored.sql" <<'SQL'
\set i random(1, 20000)
SELECT count(*) FROM (SELECT neighbour_id FROM lat_nb WHERE item_id = :i ORDER BY rank LIMIT 10) s;
SQL
cat >"$work/user_topn.sql" <<'SQL'
\set u random(1, 50000)
SELECT count(*) FROM crm.itemknn_recommend_batch('lat_r', 'u', 'i', 'r', users => ARRAY[:u]::bigint[], n => 10);
SQL
cat >"$work/user_topn_stored.sql" <<'SQL'
\set u random(1, 50000)
SELECT count(*) FROM crm.itemknn_recommend_batch('lat_r', 'u', 'i', 'r', users => ARRAY[:u]::bigint[], n => 10,
                                                 model => 'lat_nb');
SQL
cat >"$work/als_topn.sql" <<'SQL'
\set u random(1, 50000)
SELECT count(*) FROM crm.als_recommend_batch((SELECT als FROM lat_models), 'lat_r', 'u', 'i', 'r',
                                             users => ARRAY[:u]::bigint[], n => 10);
SQL
for script in similar_live similar_stored user_topn user_topn_stored als_topn; do
    rm -f "$work"/lat*
    (cd "$work" && "$PG_BIN/pgbench" -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_RUN" -f "$script.sql" -l --log-prefix=lat >/dev/null 2>&1)
    cat "$work"/lat* | SCRIPT="$script" "${CRM_PYTHON:-/usr/bin/python3}" -c '
import os, sys
# pgbench -l lines: client, transaction, latency (us), script, end time (s, us).
by_client = {}
for l in sys.stdin:
    r = l.split()
    if r:
        by_client.setdefault(r[0], []).append((int(r[2]) / 1000.0, int(r[4]) + int(r[5]) / 1e6))
# Warm: calls that started after every client had finished its first (cold) call, so no
# backend is still building its matrix or neighbour lists on the shared cores.
all_warm = max(calls[0][1] for calls in by_client.values())
warm = sorted(lat for calls in by_client.values() for lat, end in calls[1:] if end - lat / 1000.0 >= all_warm)
cold = [calls[0][0] for calls in by_client.values()]
pct = lambda p: warm[min(len(warm) - 1, int(p * len(warm)))]
name = os.environ["SCRIPT"]
print(f"{name}: clients {len(by_client)}, warm calls {len(warm)}: p50 {pct(0.5):.2f} ms, "
      f"p95 {pct(0.95):.2f} ms, p99 {pct(0.99):.2f} ms; cold first calls {min(cold):.0f}-{max(cold):.0f} ms")'
done
