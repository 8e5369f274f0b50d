#!/usr/bin/env bash
# crm.cf_recommend latency under load: 1M generated ratings (50k users, 20k
# items, long-tailed popularity), the table registered with
# crm.cf_track_changes so each backend keeps its rating matrix; pgbench with
# several clients calls cf_recommend for random users. Prints p50/p95/p99.
# Expects PGHOST/PGPORT/PGUSER of a running cluster with the extension.
set -euo pipefail
PG_BIN=/usr/lib/postgresql/15/bin
CLIENTS="${CLIENTS:-4}"
SECONDS_RUN="${SECONDS_RUN:-30}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 <<'SQL'
DROP TABLE IF EXISTS bench_ratings;
SELECT setseed(0.5);
CREATE TABLE bench_ratings AS
SELECT 1 + floor(50000 * random())::int AS user_id,
       1 + floor(20000 * random() ^ 3)::int AS item_id,      -- long tail: low ids are popular
       1 + floor(5 * random())::int AS rating
FROM generate_series(1, 1000000);
VACUUM ANALYZE bench_ratings;
SELECT crm.cf_track_changes('bench_ratings');
SQL
cat >"$work/recommend.sql" <<'SQL'
\set u random(1, 50000)
SELECT count(*) FROM crm.cf_recommend('bench_ratings', 'user_id', 'item_id', 'rating', :u);
SQL
# Warm-up: the first call of each backend builds its matrix (reported separately).
"$PG_BIN/psql" -X -At -c '\timing on' -c "SELECT count(*) FROM crm.cf_recommend('bench_ratings', 'user_id', 'item_id', 'rating', 1)" | sed -n 's/^Time: \(.*\)/first call in a new session (builds the matrix): \1/p'
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
