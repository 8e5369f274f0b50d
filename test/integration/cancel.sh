#!/usr/bin/env bash
# pg_cancel_backend stops a long crm call within a second, and the session
# that ran it is usable afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database cancel
sql -c "CREATE TABLE big AS SELECT i AS c, (date '2024-01-01' + (i % 365)) AS d, (i % 97)::numeric AS a
        FROM generate_series(1, 3000000) i"

out="$(mktemp)"
# One session: note its pid, run a long call, then prove it still works.
( sql -v ON_ERROR_STOP=0 <<'SQL'
SELECT 'pid ' || pg_backend_pid();
SELECT count(*) FROM crm.rfm_analyze('big', 'c', 'd', 'a', as_of => '2025-01-01')
  CROSS JOIN generate_series(1, 3);
SELECT 'alive ' || crm.weighted_score(ARRAY[2.0], ARRAY[3.0]);
SQL
) >"$out" 2>&1 &
runner=$!
pid=""
for _ in $(seq 1 100); do
  pid="$(sed -n 's/^pid //p' "$out")"
  [ -n "$pid" ] && break
  sleep 0.05
done
[ -n "$pid" ] || fail "the session did not start"
sleep 0.7   # let the call get going
start=$(date +%s.%N)
sql -c "SELECT pg_cancel_backend($pid)" >/dev/null
# Wait until the backend is idle again (it ran the next statement or finished).
for _ in $(seq 1 200); do
  state="$(sql -c "SELECT state FROM pg_stat_activity WHERE pid = $pid AND query LIKE '%rfm_analyze%' AND state = 'active'")"
  [ -z "$state" ] && break
  sleep 0.01
done
stop=$(date +%s.%N)
wait "$runner" || true
elapsed=$(awk -v a="$start" -v b="$stop" 'BEGIN { printf "%.3f", b - a }')
cat "$out" | sed 's/^/  /'
grep -q "canceling statement due to user request" "$out" || fail "the call was not cancelled"
grep -q "alive 6" "$out" || fail "the session was not usable after the cancel"
printf '  stopped %.3f s after pg_cancel_backend\n' "$elapsed"
awk -v e="$elapsed" 'BEGIN { exit !(e < 1.0) }' || fail "took ${elapsed}s to stop (limit 1 s)"
