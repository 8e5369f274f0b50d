#!/usr/bin/env bash
# Memory that PostgreSQL can see and bound (foundation issue, item 3):
#  * one huge aggregate state (a 10M-reading series, a big RFM sample) fails
#    cleanly at crm.max_fit_memory with 53200, while a grouped query over many
#    small groups under the same limit keeps working;
#  * HashAgg counts the states' memory (it lives in the aggregate context);
#  * the CF cache is a named memory context and stays under crm.cf_cache_memory
#    across 20 tables.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database memory_limits
failures=0
check() {  # description, expected, actual
  if [ "$2" = "$3" ]; then echo "  ok: $1"; else echo "  FAILED: $1 (expected '$2', got '$3')"; failures=$((failures + 1)); fi
}
sqlstate() {  # the SQLSTATE of PL/pgSQL statements, or ok
  sql -c "DO \$\$ BEGIN $1; RAISE NOTICE 'ok'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '% %', SQLSTATE, SQLERRM; END \$\$" 2>&1 | sed -n 's/.*NOTICE:  //p'
}

out="$(sqlstate "SET LOCAL crm.max_fit_memory = '32MB'; SET LOCAL max_parallel_workers_per_gather = 0; PERFORM crm.time_above(timestamptz '2025-01-01' + g * interval '1 second', (g % 10)::float8, 8) FROM generate_series(1, 10000000) g")"
echo "    $out"
check "a 10M-reading series stops at a 32 MB crm.max_fit_memory (53200)" "53200" "${out%% *}"
out="$(sqlstate "SET LOCAL crm.max_fit_memory = '32MB'; SET LOCAL max_parallel_workers_per_gather = 0; PERFORM crm.rfm_thresholds(g::float8, (g % 17)::float8, (g % 101)::float8) FROM generate_series(1, 10000000) g")"
echo "    $out"
check "a 10M-customer RFM sample stops at a 32 MB crm.max_fit_memory (53200)" "53200" "${out%% *}"
check "1,000 groups of 2,000 readings under the same limit work" "1000" \
  "$(sql -c "SET crm.max_fit_memory = '32MB'" -c "SELECT count(*) FROM (SELECT s, crm.time_above(timestamptz '2025-01-01' + g * interval '1 second', (g % 10)::float8, 8) FROM generate_series(1, 2000) g, generate_series(1, 1000) s GROUP BY s) x")"

# HashAgg's memory accounting sees the states: 400 groups of 2,500 readings
# (about 16 MB of readings) cannot fit 4 MB of hash memory, so it reports more
# than one batch or a peak memory above the readings' size. With states in
# malloc'd memory it saw a few kB per group and reported one small batch.
plan="$(sql <<'SQL'
SET work_mem = '4MB';
SET hash_mem_multiplier = 1;
SET enable_sort = off;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE readings AS
SELECT s, timestamptz '2025-01-01' + g * interval '1 minute' AS ts, (g % 13)::float8 AS t
FROM generate_series(1, 2500) g, generate_series(1, 400) s;
ANALYZE readings;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON)
SELECT s, crm.time_above(ts, t, 8) FROM readings GROUP BY s;
SQL
)"
verdict="$(echo "$plan" | "$PYTHON" -c '
import json, sys
node = json.loads(sys.stdin.read())[0]["Plan"]
while node.get("Node Type") != "Aggregate": node = node["Plans"][0]
batches = node.get("HashAgg Batches", 1); peak_kb = node.get("Peak Memory Usage", 0)
print("counted" if batches > 1 or peak_kb > 15000 else "NOT counted (batches %s, peak %s kB)" % (batches, peak_kb))')"
check "HashAgg counts the cold-chain states' memory" "counted" "$verdict"

# The CF cache: named contexts, bounded in total across 20 tables.
sql <<'SQL'
SET client_min_messages = warning;
DO $$
BEGIN
  FOR t IN 1 .. 20 LOOP
    EXECUTE format('CREATE TABLE r%s AS SELECT u, i, ((u * %s + i) %% 5 + 1)::float8 AS r
                    FROM generate_series(1, 300) u, generate_series(1, 100) i WHERE (u + i + %s) %% 3 = 0', t, t, t);
    PERFORM crm.cf_track_changes(format('r%s', t)::regclass);
  END LOOP;
END $$;
SQL
cache="$(sql <<'SQL'
SET crm.cf_cache_memory = '2MB';
DO $$
BEGIN
  FOR t IN 1 .. 20 LOOP
    PERFORM * FROM crm.cf_recommend(format('r%s', t)::regclass, 'u', 'i', 'r', 1);
  END LOOP;
END $$;
SELECT count(*) || ' ' || (sum(total_bytes) <= 2 * 1024 * 1024) || ' ' || bool_and(ident LIKE 'public.r%')
FROM pg_backend_memory_contexts WHERE name = 'crm cf matrix';
SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'crm cf cache';
SQL
)"
echo "    matrices, under 2 MB, named after their tables / cache contexts: $(echo $cache)"
matrices="$(echo "$cache" | head -1 | cut -d' ' -f1)"
check "the cached matrices stay under crm.cf_cache_memory" "true" "$(echo "$cache" | head -1 | cut -d' ' -f2)"
check "some but not all of the 20 matrices are kept" "yes" "$([ "$matrices" -ge 1 ] && [ "$matrices" -lt 20 ] && echo yes || echo "no ($matrices)")"
check "each is a context named after its table, under one 'crm cf cache'" "true 1" \
  "$(echo "$cache" | head -1 | cut -d' ' -f3) $(echo "$cache" | tail -1)"

[ "$failures" -eq 0 ] || exit 1
