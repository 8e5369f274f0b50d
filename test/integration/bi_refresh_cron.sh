#!/usr/bin/env bash
# BI tables and scheduling: materialized views over the analytics, refreshed
# by crm.refresh_all while a reader keeps querying (never empty, never blocked
# for the duration), and the refresh scheduled with pg_cron: the job runs, and
# a failing job's error is visible in cron.job_run_details.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database bi
trap '"$PG_BIN/psql" -X -q -d postgres -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE '"'"'crm-test-%'"'"'" -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -v scale=2 -v seed=5 -f "$REPO_ROOT/scripts/sample_data.sql" >/dev/null
sql <<'SQL'
-- One statement per BI table (see docs/bi.md).
CREATE MATERIALIZED VIEW customer_segments AS
SELECT r.*, c.name, c.region FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount',
                                                  as_of => '2025-01-01') r
JOIN crm_sample.customers c ON c.customer_id = r.customer_key;
CREATE UNIQUE INDEX ON customer_segments (customer_key);
CREATE MATERIALIZED VIEW campaign_results_report AS
SELECT * FROM crm.campaign_report('crm_sample.campaign_results', 'campaign', 'treated', 'revenue',
                                  'crm_sample.campaigns', 'campaign', 'cost');
CREATE UNIQUE INDEX ON campaign_results_report (campaign);
CREATE MATERIALIZED VIEW shipment_status AS
SELECT shipment, status, predicted_breach_at, last_temperature
FROM crm.cold_chain_alerts('crm_sample.sensor_readings', 'shipment_id', 'read_at', 'temp_c', 8, lower_limit => 0,
                           as_of => '2025-03-01 08:00+00');
CREATE UNIQUE INDEX ON shipment_status (shipment);
SQL
views="ARRAY['customer_segments', 'campaign_results_report', 'shipment_status']::regclass[]"

# A reader polls while refresh_all runs five times.
reader_log="$(mktemp)"
( for _ in $(seq 1 400); do
    sql -c '\timing on' -c "SELECT count(*) FROM customer_segments" 2>&1 | tr '\n' ' '; echo
  done ) >"$reader_log" &
reader=$!
for _ in 1 2 3 4 5; do sql -c "CALL crm.refresh_all($views)"; done
wait "$reader"
empty=$(grep -c '^Timing is on. 0 ' "$reader_log" || true)
timed=$(grep -c 'Time: ' "$reader_log" || true)
max_wait=$( (grep -o 'Time: [0-9.]*' "$reader_log" || true) | awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m }')
reads=$(wc -l <"$reader_log")
rm -f "$reader_log"
echo "  refresh_all x5 during $reads reads: empty results $empty, slowest read ${max_wait} ms"
[ "$timed" -gt 0 ] || fail "the reader did not run"
[ "$empty" -eq 0 ] || fail "a reader saw an empty view"
awk -v m="$max_wait" 'BEGIN { exit !(m < 500) }' || fail "a reader waited ${max_wait} ms"

# pg_cron: schedule the refresh and a job that fails; both outcomes are visible.
"$PG_BIN/psql" -X -q -At -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron'" | grep -q 1 ||
  skip "pg_cron is not installed (Debian postgresql-15-cron)"
"$PG_BIN/psql" -X -q -At -d postgres -c "SHOW shared_preload_libraries" | grep -q pg_cron ||
  skip "the server was not started with pg_cron in shared_preload_libraries"
"$PG_BIN/psql" -X -q -At -d postgres -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.schedule_in_database('crm-test-refresh', '* * * * *', \$job\$CALL crm.refresh_all($views)\$job\$, '$IT_DB');
SELECT cron.schedule_in_database('crm-test-failing', '* * * * *', 'SELECT crm.rfm_segment(9, 9)', '$IT_DB');
SQL
ok=""; for _ in $(seq 1 150); do   # pg_cron 1.4 (Debian 12) runs jobs on minute boundaries
  ok=$("$PG_BIN/psql" -X -q -At -d postgres -c "
    SELECT count(*) FILTER (WHERE j.jobname = 'crm-test-refresh' AND d.status = 'succeeded') > 0
       AND count(*) FILTER (WHERE j.jobname = 'crm-test-failing' AND d.status = 'failed'
                            AND d.return_message LIKE '%scores must be between%') > 0
    FROM cron.job_run_details d JOIN cron.job j USING (jobid)")
  [ "$ok" = t ] && break
  sleep 0.5
done
"$PG_BIN/psql" -X -q -At -d postgres -F ' | ' -c "
  SELECT j.jobname, d.status, left(coalesce(d.return_message, ''), 60)
  FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname LIKE 'crm-test-%'
  ORDER BY d.start_time DESC LIMIT 2" | sed 's/^/  pg_cron: /'
[ "$ok" = t ] || fail "the scheduled refresh did not succeed, or the failing job was not recorded"
