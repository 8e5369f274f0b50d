#!/usr/bin/env bash
# Every function that can run long stops within 1 second after
# statement_timeout fires and after pg_cancel_backend, and the session is
# usable afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database cancel
sql <<'SQL'
CREATE TABLE big_orders AS SELECT i % 300000 AS c, (date '2024-01-01' + (i % 365)) AS d, (i % 97)::numeric AS a
FROM generate_series(1, 3000000) i;
CREATE TABLE big_points AS SELECT i, (i % 17) + (i % 101) / 101.0 AS x, (i % 23) + (i % 7) / 7.0 AS y,
                                  (i % 11) * 1.5 AS z, (i % 13) / 3.0 AS w FROM generate_series(1, 400000) i;
CREATE TABLE big_ratings AS SELECT 1 + (i::bigint * 7919) % 20000 AS u, 1 + ((i::bigint * 104729) % 5000) AS it, 1 + i % 5 AS r
FROM generate_series(1, 400000) i;
CREATE TABLE big_readings AS SELECT s AS shipment, timestamptz '2025-01-01' + m * interval '1 minute' AS ts,
                                    4 + (s % 5) + m / 100.0 + ((m * 7919) % 13) / 50.0 AS temp
FROM generate_series(1, 6000) s, generate_series(0, 599) m;
CREATE TABLE big_lines AS SELECT g / 20 AS b, abs(hashint4(g)) % 80 AS i FROM generate_series(1, 400000) g;
SQL

CALLS=(
  "SELECT count(*) FROM generate_series(1, 20) g, LATERAL crm.rfm_analyze('big_orders', 'c', 'd', 'a', as_of => date '2025-01-01' + g) r"
  "SELECT crm.kmeans_fit(ARRAY[x, y, z, w], crm.kmeans_options(12, n_init => 50, tol => 0)) FROM big_points"
  "SELECT count(*) FROM generate_series(1, 10) g, LATERAL crm.cf_evaluate('big_ratings', 'u', 'it', 'r', folds => 5, seed => g) e"
  "SELECT count(*) FROM generate_series(1, 30) g, LATERAL crm.cf_recommend_batch('big_ratings', 'u', 'it', 'r', k => 200 + g) b"
  "SELECT count(*) FROM (SELECT crm.temp_fit(ts, temp + g) FROM big_readings, generate_series(1, 6) g GROUP BY shipment, g) f"
  "SELECT count(*) FROM generate_series(1, 10) g, LATERAL crm.cohort_retention('big_orders', 'c', 'd', 'a', CASE WHEN g % 2 = 0 THEN 'week' ELSE 'month' END) r"
  "SELECT count(*) FROM generate_series(1, 5) g, LATERAL crm.cold_chain_alerts('big_readings', 'shipment', 'ts', 'temp', 8 + g, as_of => '2025-01-02') a"
  "SELECT count(*) FROM crm.kmeans_choose_k('big_points', ARRAY['x', 'y', 'z', 'w'], 2, 12)"
  "SELECT count(*) FROM generate_series(1, 5) g, LATERAL crm.clv_analyze('big_orders', 'c', 'd', 'a', as_of => date '2025-01-01' + g, allow_unconverged => true) v"
  "SELECT count(*) FROM crm.frequent_itemsets('big_lines', 'b', 'i', 0.002, max_len => 5, max_itemsets => 10000000)"
  "SELECT sum((f.m).r) FROM generate_series(1, 20) g, LATERAL (SELECT crm.paretonbd_fit(x + g % 2, least(x, 3), 40 + x + (c % 7)) AS m FROM (SELECT c, c % 9 AS x FROM big_orders WHERE c < 200000) s) f"
  "SELECT crm.tree_fit(ARRAY[x, y, z, w], x + y > 20, crm.tree_options(n_trees => 300, min_samples_leaf => 50, seed => 1)) IS NOT NULL FROM big_points"
  "SELECT count(*) FROM generate_series(1, 40) g, LATERAL crm.itemknn_fit('big_ratings', 'u', 'it', 'r', k => 50 + g) f"
  "SELECT count(*) FROM generate_series(1, 10) g, LATERAL crm.reco_evaluate('big_ratings', 'u', 'it', 'r', 'itemknn', options => jsonb_build_object('seed', g)) e"
  "SELECT count(*) FROM generate_series(1, 20) g, LATERAL (SELECT crm.als_fit('big_ratings', 'u', 'it', 'r', factors => 32, iterations => 5 + g) AS m) f"
  "SELECT count(*) FROM generate_series(1, 20) g, LATERAL (SELECT crm.svd_fit('big_ratings', 'u', 'it', 'r', epochs => 10 + g) AS m) f"
)

worst=0
status=0
for call in "${CALLS[@]}"; do
  name="$(echo "$call" | grep -o 'crm\.[a-z_]*' | head -1)"
  # 1. statement_timeout = 300 ms: the call must end by about 1.3 s, with 57014.
  out="$(sql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "SET statement_timeout = '300ms'" -c '\timing on' -c "$call" \
         -c "RESET statement_timeout" -c "SELECT 'alive ' || crm.weighted_score(ARRAY[2.0], ARRAY[3.0])" 2>&1 || true)"
  ms="$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)"
  code="$(echo "$out" | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"
  alive="$(echo "$out" | grep -c '^alive 6' || true)"
  # 2. pg_cancel_backend 0.5 s into the call.
  tmp="$(mktemp)"
  ( sql -v ON_ERROR_STOP=0 -c "SELECT 'pid ' || pg_backend_pid()" -c "$call" \
        -c "SELECT 'alive ' || crm.weighted_score(ARRAY[2.0], ARRAY[3.0])" >"$tmp" 2>&1 ) &
  runner=$!
  pid=""
  for _ in $(seq 1 100); do pid="$(sed -n 's/^pid //p' "$tmp")"; [ -n "$pid" ] && break; sleep 0.05; done
  sleep 0.5
  start=$(date +%s.%N)
  sql -c "SELECT pg_cancel_backend($pid)" >/dev/null
  for _ in $(seq 1 300); do
    busy="$(sql -c "SELECT 1 FROM pg_stat_activity WHERE pid = $pid AND state = 'active' AND query NOT LIKE '%alive%'")"
    [ -z "$busy" ] && break
    sleep 0.01
  done
  stop=$(date +%s.%N)
  wait "$runner" || true
  cancel_s=$(awk -v a="$start" -v b="$stop" 'BEGIN { printf "%.3f", b - a }')
  cancelled="$(grep -c 'canceling statement due to user request' "$tmp" || true)"
  alive2="$(grep -c '^alive 6' "$tmp" || true)"
  rm -f "$tmp"
  printf '  %-28s timeout: ended after %7s ms (%s), session alive %s; cancel: stopped in %s s, session alive %s\n' \
         "$name" "${ms:-?}" "${code:-no error}" "$alive" "$cancel_s" "$alive2"
  if [ "$code" != "57014" ] || [ "$alive" != 1 ] || [ "$alive2" != 1 ] || [ "$cancelled" != 1 ] ||
     ! awk -v m="${ms:-99999}" -v c="$cancel_s" 'BEGIN { exit !(m < 1300 && c < 1.0) }'; then
    status=1
  fi
done
[ "$status" -eq 0 ] || fail "a long call did not stop in time (or the session was lost)"
