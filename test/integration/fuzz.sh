#!/usr/bin/env bash
# Argument fuzzing of every function and aggregate in schema crm (found from
# the catalog): at least 20,000 calls with edge values (NULL, NaN, Infinity,
# 0, -1, huge and tiny numbers, empty/ragged/multi-dimensional arrays, NULL
# elements, very long text, unknown and oddly named tables and columns,
# corrupted model values). Passes when no backend crashed (server log) and no
# call failed with XX000 (internal error). Prints the count per SQLSTATE.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database fuzz
CALLS="${CRM_FUZZ_CALLS:-20000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sql <<'SQL'
CREATE SCHEMA fuzz;
CREATE TABLE fuzz.outcome (routine text, sqlstate text, message text);
CREATE FUNCTION fuzz.try(call text, routine text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    EXECUTE call;
    INSERT INTO fuzz.outcome VALUES (routine, '00000', NULL);
  EXCEPTION WHEN OTHERS THEN
    INSERT INTO fuzz.outcome VALUES (routine, SQLSTATE, left(SQLERRM, 300));
  END;
END $$;
-- Tables the generated calls name.
CREATE TABLE fuzz_orders (customer_id int, ordered_at date, amount numeric, campaign text, treated boolean,
                          revenue float8, shipment int, ts timestamptz, temp float8, cost numeric);
INSERT INTO fuzz_orders
SELECT i % 50, date '2024-01-01' + i % 300, (i % 97) - 5, 'c' || i % 3, i % 4 <> 0, i % 31, i % 7,
       timestamptz '2025-01-01' + i * interval '7 minutes', 4 + (i % 11) / 2.0, 100
FROM generate_series(1, 2000) i;
INSERT INTO fuzz_orders VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE VIEW fuzz_results AS SELECT * FROM fuzz_orders;
CREATE VIEW fuzz_readings AS SELECT * FROM fuzz_orders;
CREATE VIEW fuzz_costs AS SELECT campaign, cost FROM fuzz_orders;
CREATE TABLE "Fuzz Odd" ("Odd ""col""" int, customer_id int, ordered_at date, amount numeric);
SQL



# kind|name|comma-separated argument types (in order)
sql -c "SELECT CASE p.prokind WHEN 'a' THEN 'a' ELSE 'f' END || '|' || p.proname || '|' ||
               coalesce((SELECT string_agg(format_type(t, NULL), ',' ORDER BY o)
                         FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, o)), '')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'crm' AND p.prokind IN ('f', 'a') ORDER BY p.proname, p.oid" >"$work/routines.txt"
"$PYTHON" "$REPO_ROOT/test/fuzz/generate_calls.py" 7 "$CALLS" <"$work/routines.txt" >"$work/calls.sql"

log_before=$(wc -l <"$CRM_SERVER_LOG" 2>/dev/null || echo 0)
start=$(date +%s)
PGOPTIONS="-c statement_timeout=10s -c client_min_messages=error" \
  "$PG_BIN/psql" -X -q -f "$work/calls.sql" >"$work/psql.log" 2>&1 || true
elapsed=$(( $(date +%s) - start ))

sql -F ' ' -c "SELECT sqlstate, count(*) FROM fuzz.outcome GROUP BY 1 ORDER BY 2 DESC" | sed 's/^/  SQLSTATE /'
total=$(sql -c "SELECT count(*) FROM fuzz.outcome")
routines=$(sql -c "SELECT count(DISTINCT routine) FROM fuzz.outcome")
internal=$(sql -c "SELECT count(*) FROM fuzz.outcome WHERE sqlstate = 'XX000'")
sql -c "SELECT routine || ': ' || message FROM fuzz.outcome WHERE sqlstate = 'XX000' GROUP BY 1 LIMIT 10" | sed 's/^/  XX000 /' || true
crashes=0
if [ -n "${CRM_SERVER_LOG:-}" ]; then
  crashes=$(tail -n +"$((log_before + 1))" "$CRM_SERVER_LOG" | grep -c "terminated by signal" || true)
  tail -n +"$((log_before + 1))" "$CRM_SERVER_LOG" | grep -B1 -A3 "terminated by signal" | head -20 | sed 's/^/  /'  || true
fi
lost=$(grep -c "connection to the server was lost\|server closed the connection" "$work/psql.log" || true)
echo "  $total calls over $routines routines in ${elapsed}s; backend crashes: $crashes; lost connections: $lost; XX000: $internal"
[ "$total" -ge "$CALLS" ] || fail "only $total of $CALLS calls ran"
[ "$crashes" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$internal" -eq 0 ] || fail "crash or internal error"
