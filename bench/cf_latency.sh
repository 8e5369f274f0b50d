#!/usr/bin/env bash
# crm.cf_recommend latency under load, on #20's data set: 1.08M ratings (50k
# users, 20k items, steeply long-tailed popularity: the most popular item has
# about 28k ratings), the table registered with crm.cf_track_changes so each
# backend keeps its rating matrix; pgbench with 8 clients calls cf_recommend
# (n => 10) for random users for 25 s. Prints p50/p95/p99 of the warm calls.
# Expects PGHOST/PGPORT/PGUSER of a running cluster with the extension.
set -euo pipefail
PG_BIN=/usr/lib/postgresql/15/bin
CLIENTS="${CLIENTS:-8}"
SECONDS_RUN="${SECONDS_RUN:-25}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 <<'SQL'
DROP TABLE IF EXISTS lat_r;
CREATE TABLE lat_r AS SELECT DISTINCT ON (u, i) u, i, r FROM (
  SELECT (abs(hashint4(g)) % 50000) + 1 AS u,
         (floor(20000 * power((abs(hashint4(g + 99)) % 1000000) / 1000000.0, 3)))::int + 1 AS i,
         ((abs(hashint4(g + 7)) % 5) + 1)::float8 AS r
  FROM generate_series(1, 1100000) g) s;
VACUUM ANALYZE lat_r;
SELECT crm.cf_track_changes('lat_r');
SQL
cat >"$work/recommend.sql" <<'SQL'
\set u random(1, 50000)
SELECT count(*) FROM crm.cf_recommend('lat_r', 'u', 'i', 'r', :u, n => 10);
SQL
# Warm-up: the first call of each backend builds its matrix (reported separately).
"$PG_BIN/psql" -X -At -c '\timing on' -c "SELECT count(*) FROM crm.cf_recommend('lat_r', 'u', 'i', 'r', 1, n => 10)" | sed -n 's/^Time: \(.*\)/first call in a new session (builds the matrix): \1/p'
(cd "$work" && "$PG_BIN/pgbench" -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_RUN" -f recommend.sql -l --log-prefix=lat >/dev/null 2>&1)
cat "$work"/lat* | "${CRM_PYTHON:-/usr/bin/python3}" -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
by_client = {}
for r in rows:
    by_client.setdefault(r[0], []).append(int(r[2]) / 1000.0)
warm = sorted(x for lat in by_client.values() for x in lat[1:])   # drop each client'"'"'s first (cold) call
cold = [lat[0] for lat in by_client.values()]
pct = lambda p: warm[min(len(warm) - 1, int(p * len(warm)))]
print(f"clients {len(by_client)}, warm calls {len(warm)}: p50 {pct(0.5):.2f} ms, p95 {pct(0.95):.2f} ms, "
      f"p99 {pct(0.99):.2f} ms, max {warm[-1]:.2f} ms; cold first calls {min(cold):.0f}-{max(cold):.0f} ms")'
