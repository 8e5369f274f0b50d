#!/usr/bin/env bash
# Progress of a long fit is visible from another session: pg_stat_activity's
# query text starts with "crm progress: ..." while crm.kmeans_fit runs, and the
# original text is back once it has finished.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database progress
sql -c "CREATE TABLE pts AS SELECT i, (i % 17)::float8 AS x, (i % 23)::float8 AS y, (i % 101)::float8 AS z,
               (i % 7)::float8 AS w FROM generate_series(1, 300000) i"
( sql -c "SELECT 'pid ' || pg_backend_pid()" \
      -c "SELECT crm.kmeans_fit(ARRAY[x, y, z, w], crm.kmeans_options(12, n_init => 8)) IS NOT NULL FROM pts" \
      -c "SELECT 'done'" >/dev/null 2>&1 ) &
runner=$!
seen=""
for _ in $(seq 1 100); do
  seen=$(sql -c "SELECT query FROM pg_stat_activity WHERE query LIKE 'crm progress: crm.kmeans_fit%' LIMIT 1" | cut -c1-100)
  [ -n "$seen" ] && break
  sleep 0.1
done
wait "$runner"
echo "  seen from another session: ${seen:-nothing}"
[ -n "$seen" ] || fail "no progress was visible in pg_stat_activity"
