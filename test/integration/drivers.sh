#!/usr/bin/env bash
# The main functions through the client drivers users' tools use: psycopg2
# (application code), the PostgreSQL JDBC driver (Tableau and other JDBC
# tools; needs TCP on 127.0.0.1) and psqlODBC with unixODBC's isql (Power BI,
# Excel): bound arrays, composite and model values as readable values, errors
# with their SQLSTATE.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database drivers
work="$(mktemp -d)"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT
sql <<'SQL'
CREATE TABLE drv_orders AS SELECT i % 200 AS customer_id, date '2024-01-01' + i % 300 AS ordered_at, (i % 50)::numeric AS amount
FROM generate_series(1, 3000) i;
CREATE TABLE drv_ratings AS SELECT 1 + i % 30 AS u, 1 + (i * 7) % 20 AS i, 1 + i % 5 AS r FROM generate_series(1, 400) i;
CREATE TABLE drv_results AS SELECT i % 5 <> 0 AS treated, (i % 37)::float8 AS revenue FROM generate_series(1, 1000) i;
CREATE TABLE drv_models AS SELECT crm.kmeans_fit(ARRAY[customer_id::float8, amount::float8], 3) AS model FROM drv_orders;
SQL
status=0
ran=0

if "$PYTHON" -c "import psycopg2" 2>/dev/null; then
  "$PYTHON" "$REPO_ROOT/test/drivers/crm_psycopg2.py" || status=1
  ran=$((ran + 1))
else
  echo "  psycopg2: skipped (python3-psycopg2 not installed)"
fi

jar=/usr/share/java/postgresql.jar
tcp_ok=$("$PG_BIN/psql" -X -At -h 127.0.0.1 -c "SELECT 1" 2>/dev/null || true)
if [ -f "$jar" ] && command -v javac >/dev/null && [ "$tcp_ok" = 1 ]; then
  javac -d "$work" "$REPO_ROOT/test/drivers/CrmJdbc.java"
  java -cp "$jar:$work" CrmJdbc "jdbc:postgresql://127.0.0.1:$PGPORT/$IT_DB?user=$PGUSER" || status=1
  ran=$((ran + 1))
else
  echo "  jdbc: skipped (needs libpostgresql-jdbc-java, a JDK and the server on 127.0.0.1)"
fi

driver=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so
if [ -f "$driver" ] && command -v isql >/dev/null; then
  printf '[PostgreSQL Unicode]\nDriver = %s\n' "$driver" >"$work/odbcinst.ini"
  printf '[crm]\nDriver = PostgreSQL Unicode\nServername = %s\nPort = %s\nDatabase = %s\nUsername = %s\n' \
         "$PGHOST" "$PGPORT" "$IT_DB" "$PGUSER" >"$work/odbc.ini"
  export ODBCSYSINI="$work" ODBCINI="$work/odbc.ini"
  out=$(printf '%s\n' \
    "SELECT segment, count(*) FROM crm.rfm_analyze('drv_orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01') GROUP BY 1 ORDER BY 1" \
    "SELECT (crm.campaign_uplift(treated, revenue)).uplift FROM drv_results" \
    "SELECT crm.weighted_score(ARRAY[1.0, 2.0, 3.0], ARRAY[0.5, 0.25, 1.0])" | isql -b -d'|' crm 2>&1 || true)
  err=$(echo "SELECT * FROM crm.rfm_analyze('drv_orders', 'customer_id', 'ordered_at', 'amount', bins => 11)" |
        isql -b -v crm 2>&1 || true)
  segs=$(echo "$out" | grep -c '^Champions|\|^Hibernating|' || true)
  echo "$out" | grep -q '^4$' && score=ok || score=FAILED
  echo "$err" | grep -q '\[22023\]' && code=ok || code=FAILED
  echo "  odbc: $( [ "$segs" -ge 1 ] && echo ok || echo FAILED ): rfm_analyze rows through isql ($segs segment rows matched)"
  echo "  odbc: $score: weighted_score = 4"
  echo "  odbc: $code: error arrives with SQLSTATE 22023 ($(echo "$err" | grep -o '\[22023\][^[]*' | head -1 | cut -c1-70))"
  [ "$segs" -ge 1 ] && [ "$score" = ok ] && [ "$code" = ok ] || status=1
  ran=$((ran + 1))
else
  echo "  odbc: skipped (needs odbc-postgresql and unixodbc)"
fi
[ "$ran" -gt 0 ] || skip "no client driver installed"
[ "$status" -eq 0 ] || fail "a driver check failed"
