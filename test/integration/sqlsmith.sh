#!/usr/bin/env bash
# sqlsmith (random SQL from the catalog, which includes every crm function,
# type and aggregate) against a database with the extension and the sample
# data, as an unprivileged role: zero backend crashes. CRM_SQLSMITH_QUERIES
# sets the number of queries (default 5000 in the test command; run longer by hand).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
command -v sqlsmith >/dev/null || skip "sqlsmith is not installed (Debian package sqlsmith)"
QUERIES="${CRM_SQLSMITH_QUERIES:-5000}"
fresh_database sqlsmith
trap '"$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" -c "DROP ROLE IF EXISTS crm_smith" >/dev/null 2>&1 || true' EXIT
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -v scale=1 -v seed=3 -f "$REPO_ROOT/scripts/sample_data.sql" >/dev/null
sql <<'SQL'
SET client_min_messages = warning;
DROP ROLE IF EXISTS crm_smith;
CREATE ROLE crm_smith LOGIN;
GRANT USAGE ON SCHEMA crm, crm_sample TO crm_smith;
GRANT SELECT ON ALL TABLES IN SCHEMA crm_sample TO crm_smith;
CREATE TABLE crm_sample.models AS
SELECT crm.kmeans_fit(ARRAY[recency_days, frequency, monetary], 4) AS kmeans,
       (SELECT crm.temp_fit(read_at, temp_c) FROM crm_sample.sensor_readings WHERE shipment_id = 1) AS temp,
       (SELECT crm.rfm_thresholds(recency_days, frequency, monetary) FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount')) AS rfm
FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount');
GRANT SELECT ON crm_sample.models TO crm_smith;
SQL
log_before=$(wc -l <"$CRM_SERVER_LOG" 2>/dev/null || echo 0)
start=$(date +%s)
out="$(PGOPTIONS="-c statement_timeout=3s" timeout 600 sqlsmith \
        --target="host=$PGHOST port=$PGPORT dbname=$IT_DB user=crm_smith" \
        --seed=42 --max-queries="$QUERIES" --exclude-catalog 2>&1 | tail -5)" || true
elapsed=$(( $(date +%s) - start ))
crashes=$(tail -n +"$((log_before + 1))" "$CRM_SERVER_LOG" | grep -c "terminated by signal" || true)
crm_errors=$(tail -n +"$((log_before + 1))" "$CRM_SERVER_LOG" | grep -c "internal error in crm_analytics" || true)
echo "  sqlsmith: $QUERIES queries in ${elapsed}s; backend crashes: $crashes; crm internal errors: $crm_errors"
echo "$out" | tr '\r' '\n' | grep -v '^$' | tail -2 | sed 's/^/  sqlsmith: /'
[ "$crashes" -eq 0 ] && [ "$crm_errors" -eq 0 ] || { echo "$out"; fail "crash or internal error under sqlsmith"; }
