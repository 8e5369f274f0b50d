#!/usr/bin/env bash
# Upgrades and dumps. Installs 0.1.0 from its frozen script, stores a value of
# every stored type (k-means and temperature models, RFM thresholds, the bytea
# states of every _partial aggregate, a CF registration) and the views and
# materialized views the docs build over our functions, runs ALTER EXTENSION
# UPDATE, and checks that
#  * every stored model reads and scores as before;
#  * every stored 0.1.0 partial state is combined to the same result or
#    refused with 22023 (never misread);
#  * the updated schema equals a fresh install of the new version (functions,
#    types, aggregates, relations, comments, privileges);
#  * a pg_dump / pg_restore round trip keeps the models and the CF registration;
#  * the update ships the profile rule tables with the defaults of a fresh install, and user edits
#    (changed, disabled and added rules) survive a dump and restore with no duplicated defaults.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
OLD_DB=crm_it_upgrade_old
NEW_DB=crm_it_upgrade_new
RESTORED_DB=crm_it_upgrade_restored
WORK="$(mktemp -d)"
chmod 755 "$WORK"
cleanup() {
  for db in "$OLD_DB" "$NEW_DB" "$RESTORED_DB"; do
    "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
failures=0
check() {  # description, expected, actual
  if [ "$2" = "$3" ]; then echo "  ok: $1"; else echo "  FAILED: $1 (expected '$2', got '$3')"; failures=$((failures + 1)); fi
}
for db in "$OLD_DB" "$NEW_DB" "$RESTORED_DB"; do
  PGOPTIONS="-c client_min_messages=warning" sql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done
NEW_VERSION="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$REPO_ROOT/crm_analytics.control")"

# --- 0.1.0 with stored values ------------------------------------------------
sql -d "$OLD_DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION crm_analytics VERSION '0.1.0';
CREATE TABLE pts AS SELECT g AS id, (g % 17)::float8 AS x, (g % 11)::float8 * 3 AS y FROM generate_series(1, 400) g;
CREATE TABLE orders AS
SELECT g % 50 AS customer_id, date '2024-01-01' + (g * 7) % 300 AS ordered_at, (g % 23 + 5)::numeric AS amount
FROM generate_series(1, 2000) g;
CREATE TABLE readings AS
SELECT s AS shipment, timestamptz '2025-01-01 00:00+00' + g * interval '5 minutes' AS ts,
       2 + (s % 3) + (12 - 2 - s % 3) * (1 - exp(-g / 40.0)) + (g % 5) * 0.01 AS temp
FROM generate_series(1, 4) s, generate_series(1, 120) g;
CREATE TABLE results AS
SELECT 'c' || g % 2 AS campaign, g % 3 <> 0 AS treated, (g % 37)::float8 + (g % 3 <> 0)::int * 4 AS revenue,
       g % 5 = 0 AS converted
FROM generate_series(1, 600) g;
CREATE TABLE ratings AS
SELECT u, i, ((u * 7 + i * 3) % 5 + 1)::float8 AS r
FROM generate_series(1, 40) u, generate_series(1, 30) i WHERE (u + i) % 3 = 0;
SELECT crm.cf_track_changes('ratings');

CREATE TABLE stored_models AS
SELECT (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, seed => 1, n_init => 2)) FROM pts) AS km,
       (SELECT crm.temp_fit(ts, temp) FROM readings WHERE shipment = 1) AS tm,
       (SELECT crm.rfm_thresholds(recency, frequency, monetary)
          FROM (SELECT customer_id, (date '2025-01-01' - max(ordered_at))::float8 AS recency,
                       count(*)::float8 AS frequency, sum(amount)::float8 AS monetary
                FROM orders GROUP BY 1) s) AS th;
CREATE TABLE stored_partials AS
SELECT 'rfm_thresholds' AS kind, crm.rfm_thresholds_partial(customer_id::float8, customer_id::float8 * 2, customer_id::float8 * 3) AS state FROM orders
UNION ALL SELECT 'campaign_uplift', crm.campaign_uplift_partial(treated, revenue) FROM results
UNION ALL SELECT 'conversion_uplift', crm.conversion_uplift_partial(treated, converted) FROM results
UNION ALL SELECT 'kmeans_fit', crm.kmeans_fit_partial(ARRAY[x, y], crm.kmeans_options(3, seed => 1, n_init => 2)) FROM pts
UNION ALL SELECT 'kmeans_step', crm.kmeans_step_partial(ARRAY[x, y], (SELECT km FROM stored_models)) FROM pts
UNION ALL SELECT 'temp_fit', crm.temp_fit_partial(ts, temp) FROM readings WHERE shipment = 2
UNION ALL SELECT 'time_above', crm.time_above_partial(ts, temp, 8) FROM readings WHERE shipment = 2
UNION ALL SELECT 'time_below', crm.time_below_partial(ts, temp, 8) FROM readings WHERE shipment = 2
UNION ALL SELECT 'mean_kinetic_temperature', crm.mean_kinetic_temperature_partial(ts, temp) FROM readings WHERE shipment = 2;
-- The 0.1.0 shared library is not installed here (the old SQL binds to the new
-- library), so the 0.1.0 layout of the one state format that changed is made
-- from the new one: the cold-chain states of format version 1 had no kind byte
-- (offset 2 of version 2). The other formats kept their version.
UPDATE stored_partials SET state = set_byte(overlay(state PLACING ''::bytea FROM 3 FOR 1), 1, 1)
WHERE kind IN ('temp_fit', 'time_above', 'time_below', 'mean_kinetic_temperature') AND get_byte(state, 1) = 2;

-- What the docs tell users to build over our functions (docs/bi.md, rfm.md, kmeans.md).
CREATE VIEW customer_rfm AS
SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01');
CREATE MATERIALIZED VIEW customer_segments AS
SELECT p.id, crm.kmeans_assign(m.km, ARRAY[p.x, p.y]) AS cluster, crm.kmeans_distance(m.km, ARRAY[p.x, p.y]) AS distance
FROM pts p, stored_models m;
CREATE UNIQUE INDEX ON customer_segments (id);
CREATE MATERIALIZED VIEW recommendations_top5 AS
SELECT * FROM crm.cf_recommend_batch('ratings', 'u', 'i', 'r', n => 5);
CREATE MATERIALIZED VIEW campaign_summary AS
SELECT * FROM crm.campaign_report('results', 'campaign', 'treated', 'revenue',
                                  'results', 'campaign', 'revenue');
CREATE VIEW shipment_status AS
SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', upper_limit => 8,
                                    as_of => '2025-01-01 10:00+00');
CREATE VIEW cluster_profiles AS SELECT c.* FROM stored_models m, crm.kmeans_clusters(m.km) c;
CREATE VIEW cluster_names AS SELECT l.* FROM stored_models m, crm.kmeans_labels(m.km) l;
SQL

# The values every stored object gives, as text, one per line.
snapshot() {
  sql -d "$1" <<'SQL'
SELECT 'assign', string_agg(crm.kmeans_assign(km, ARRAY[x, y])::text, ',' ORDER BY id) FROM pts, stored_models;
SELECT 'distance', round(sum(crm.kmeans_distance(km, ARRAY[x, y]))::numeric, 9) FROM pts, stored_models;
SELECT 'clusters', string_agg(c::text, ';') FROM stored_models, crm.kmeans_clusters(km) c;
SELECT 'temp_at', round(crm.temp_at(tm, '2025-01-01 03:00+00')::numeric, 9), (tm).converged FROM stored_models;
SELECT 'breach', crm.temp_breach_time(tm, 8) FROM stored_models;
SELECT 'rfm_score', string_agg((crm.rfm_score(th, g, g * 2, g * 30))::text, ';' ORDER BY g)
FROM stored_models, generate_series(1, 20) g;
SELECT 'view_rfm', count(*), sum(r_score + f_score + m_score) FROM customer_rfm;
SELECT 'matview_segments', count(*), sum(cluster) FROM customer_segments;
SELECT 'matview_recs', count(*), round(sum(score)::numeric, 9) FROM recommendations_top5;
SELECT 'matview_campaigns', string_agg(campaign || ':' || verdict, ',' ORDER BY campaign) FROM campaign_summary;
SELECT 'view_shipments', string_agg(shipment || ':' || status, ',' ORDER BY shipment) FROM shipment_status;
SELECT 'view_labels', count(*) FROM cluster_names;
SQL
}
snapshot "$OLD_DB" >"$WORK/before.txt"

# --- ALTER EXTENSION UPDATE --------------------------------------------------
sql -d "$OLD_DB" -c "ALTER EXTENSION crm_analytics UPDATE" || fail "ALTER EXTENSION crm_analytics UPDATE failed"
check "updated to the current version" "$NEW_VERSION" "$(sql -d "$OLD_DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'crm_analytics'")"
sql -d "$OLD_DB" -c "REFRESH MATERIALIZED VIEW customer_segments" -c "REFRESH MATERIALIZED VIEW recommendations_top5" \
    -c "REFRESH MATERIALIZED VIEW campaign_summary"
snapshot "$OLD_DB" >"$WORK/after.txt"
if diff -u "$WORK/before.txt" "$WORK/after.txt"; then
  echo "  ok: stored models, views and materialized views read and score as before ($(wc -l <"$WORK/before.txt") checks)"
else
  echo "  FAILED: values changed across the update"; failures=$((failures + 1))
fi

# Every stored 0.1.0 partial state: combined to the aggregate's own result, or
# refused with 22023 (never misread).
sql -d "$OLD_DB" <<'SQL' >"$WORK/partials.txt"
CREATE FUNCTION pg_temp.combine_outcome(query text, expected text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE got text;
BEGIN
  EXECUTE query INTO got;
  RETURN CASE WHEN got IS NOT DISTINCT FROM expected THEN 'same' ELSE 'DIFFERENT: ' || coalesce(got, 'NULL') || ' vs ' || coalesce(expected, 'NULL') END;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN 'refused';
WHEN OTHERS THEN
  RETURN 'UNEXPECTED ' || SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT kind, pg_temp.combine_outcome(format('SELECT %s(state)::text FROM stored_partials WHERE kind = %L', c, kind), e)
FROM (VALUES
  ('rfm_thresholds', 'crm.rfm_thresholds_combine',
   (SELECT crm.rfm_thresholds(customer_id::float8, customer_id::float8 * 2, customer_id::float8 * 3)::text FROM orders)),
  ('campaign_uplift', 'crm.campaign_uplift_combine', (SELECT crm.campaign_uplift(treated, revenue)::text FROM results)),
  ('conversion_uplift', 'crm.conversion_uplift_combine', (SELECT crm.conversion_uplift(treated, converted)::text FROM results)),
  ('kmeans_fit', 'crm.kmeans_fit_combine',
   (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, seed => 1, n_init => 2))::text FROM pts)),
  ('kmeans_step', 'crm.kmeans_step_combine', (SELECT crm.kmeans_step(ARRAY[x, y], (SELECT km FROM stored_models))::text FROM pts)),
  ('temp_fit', 'crm.temp_fit_combine', (SELECT crm.temp_fit(ts, temp)::text FROM readings WHERE shipment = 2)),
  ('time_above', 'crm.time_above_combine', (SELECT crm.time_above(ts, temp, 8)::text FROM readings WHERE shipment = 2)),
  ('time_below', 'crm.time_below_combine', (SELECT crm.time_below(ts, temp, 8)::text FROM readings WHERE shipment = 2)),
  ('mean_kinetic_temperature', 'crm.mean_kinetic_temperature_combine',
   (SELECT crm.mean_kinetic_temperature(ts, temp)::text FROM readings WHERE shipment = 2))) v(kind, c, e)
ORDER BY 1;
SQL
bad_partials="$(grep -cvE '\|(same|refused)$' "$WORK/partials.txt" || true)"
sed 's/^/    /' "$WORK/partials.txt"
check "every stored 0.1.0 partial state is combined correctly or refused with 22023" "0" "$bad_partials"

# --- the updated schema equals a fresh install ---------------------------------
sql -d "$NEW_DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION crm_analytics"
catalog() {
  sql -d "$1" <<'SQL'
WITH members AS (
  SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
  WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'crm_analytics' AND d.deptype = 'e')
SELECT 'function ' || p.oid::regprocedure || ' (' || pg_get_function_arguments(p.oid) || ') -> '
       || coalesce(pg_get_function_result(p.oid), '') || ' kind=' || p.prokind::text || ' vol=' || p.provolatile::text
       || ' par=' || p.proparallel::text || ' strict=' || p.proisstrict || ' secdef=' || p.prosecdef
       || ' leak=' || p.proleakproof || ' cost=' || p.procost || ' rows=' || p.prorows
       || ' config=' || coalesce(array_to_string(p.proconfig, ','), '') || ' acl=' || coalesce(p.proacl::text, '')
       || ' src=' || md5(coalesce(p.prosrc, '') || coalesce(p.probin, ''))
       || ' comment=' || md5(coalesce(obj_description(p.oid, 'pg_proc'), ''))
FROM members m JOIN pg_proc p ON p.oid = m.objid WHERE m.classid = 'pg_proc'::regclass
UNION ALL
SELECT 'aggregate ' || a.aggfnoid::regprocedure || ' kind=' || a.aggkind::text || ' trans=' || a.aggtransfn::regproc
       || ' final=' || a.aggfinalfn::regproc || ' combine=' || a.aggcombinefn::regproc || ' serial=' || a.aggserialfn::regproc
       || ' deserial=' || a.aggdeserialfn::regproc || ' stype=' || a.aggtranstype::regtype || ' init=' || coalesce(a.agginitval, '')
       || ' finalmodify=' || a.aggfinalmodify::text || ' finalextra=' || a.aggfinalextra
FROM members m JOIN pg_aggregate a ON a.aggfnoid = m.objid WHERE m.classid = 'pg_proc'::regclass
UNION ALL
SELECT 'type ' || t.oid::regtype || ' ' || t.typtype::text || ' in=' || t.typinput::regproc || ' out=' || t.typoutput::regproc
       || ' recv=' || t.typreceive::regproc || ' send=' || t.typsend::regproc || ' len=' || t.typlen
       || ' align=' || t.typalign::text || ' storage=' || t.typstorage::text || ' acl=' || coalesce(t.typacl::text, '')
       || ' comment=' || md5(coalesce(obj_description(t.oid, 'pg_type'), ''))
       || ' attrs=' || coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                                 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '')
FROM members m JOIN pg_type t ON t.oid = m.objid WHERE m.classid = 'pg_type'::regclass
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' acl=' || coalesce(c.relacl::text, '')
       || ' comment=' || md5(coalesce(obj_description(c.oid, 'pg_class'), ''))
       || ' view=' || md5(coalesce(pg_get_viewdef(c.oid), ''))
       || ' cols=' || coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull
                                                  || ':' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''), ',' ORDER BY a.attnum)
                                 FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
       || ' triggers=' || coalesce((SELECT string_agg(tg.tgname || ':' || tg.tgfoid::regproc || ':' || tg.tgtype || ':' || tg.tgenabled::text, ',' ORDER BY tg.tgname)
                                    FROM pg_trigger tg WHERE tg.tgrelid = c.oid), '')
       || ' indexes=' || coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), ',' ORDER BY 1) FROM pg_index i WHERE i.indrelid = c.oid), '')
FROM members m JOIN pg_class c ON c.oid = m.objid WHERE m.classid = 'pg_class'::regclass
UNION ALL
SELECT 'schema crm owner=' || pg_get_userbyid(n.nspowner) || ' acl=' || coalesce(n.nspacl::text, '')
FROM pg_namespace n WHERE n.nspname = 'crm'
UNION ALL
SELECT 'member ' || m.classid::regclass || ' count=' || count(*) FROM members m GROUP BY m.classid
ORDER BY 1;
SQL
}
catalog "$OLD_DB" >"$WORK/catalog_updated.txt"
catalog "$NEW_DB" >"$WORK/catalog_fresh.txt"
if diff -u "$WORK/catalog_fresh.txt" "$WORK/catalog_updated.txt" >"$WORK/catalog.diff"; then
  echo "  ok: the updated schema equals a fresh install ($(wc -l <"$WORK/catalog_fresh.txt") catalog entries compared)"
else
  echo "  FAILED: the updated schema differs from a fresh install:"; head -n 60 "$WORK/catalog.diff"
  failures=$((failures + 1))
fi

# --- the profile's rule tables: shipped by the update, user edits kept by dumps ---
rules() {
  sql -d "$1" -c "SELECT string_agg(concat_ws('|', tag, condition, priority, enabled, description), E'\\n' ORDER BY tag)
                  FROM crm.profile_tag_rules" \
              -c "SELECT string_agg(concat_ws('|', priority, segment, tag, action, enabled, description), E'\\n' ORDER BY priority)
                  FROM crm.profile_actions"
}
check "the update ships the default profile rules of a fresh install" "$(rules "$NEW_DB")" "$(rules "$OLD_DB")"
sql -d "$OLD_DB" <<'SQL'
UPDATE crm.profile_tag_rules SET condition = 'value_tier = ''high''', description = 'edited' WHERE tag = 'vip';
UPDATE crm.profile_tag_rules SET enabled = false WHERE tag = 'lapsed';
INSERT INTO crm.profile_tag_rules (tag, condition, priority) VALUES ('whale', 'monetary >= 10000', 5);
UPDATE crm.profile_actions SET action = 'concierge' WHERE priority = 10;
INSERT INTO crm.profile_actions (priority, segment, tag, action) VALUES (5, 'Champions', NULL, 'thank_you_call');
SQL
# --- pg_dump / pg_restore -----------------------------------------------------
"$PG_BIN/pg_dump" -Fc -f "$WORK/dump.custom" "$OLD_DB" || fail "pg_dump failed"
"$PG_BIN/pg_restore" --exit-on-error -d "$RESTORED_DB" "$WORK/dump.custom" || fail "pg_restore failed"
sql -d "$RESTORED_DB" -c "REFRESH MATERIALIZED VIEW customer_segments" -c "REFRESH MATERIALIZED VIEW recommendations_top5" \
    -c "REFRESH MATERIALIZED VIEW campaign_summary"
snapshot "$RESTORED_DB" >"$WORK/restored.txt"
if diff -u "$WORK/before.txt" "$WORK/restored.txt"; then
  echo "  ok: after pg_dump and pg_restore the stored models, views and materialized views give the same values"
else
  echo "  FAILED: values changed across dump and restore"; failures=$((failures + 1))
fi
check "edited, disabled and added profile rules survive dump and restore, without duplicate defaults" \
  "$(rules "$OLD_DB")" "$(rules "$RESTORED_DB")"
check "the restored rule tables hold 8 tag rules and 8 actions" "8|8" \
  "$(sql -d "$RESTORED_DB" -c "SELECT (SELECT count(*) FROM crm.profile_tag_rules) || '|' || (SELECT count(*) FROM crm.profile_actions)")"
check "the CF registration survives the restore (and is cacheable)" "ratings|t" \
  "$(sql -d "$RESTORED_DB" -c "SELECT ratings, cacheable FROM crm.cf_tracked_tables")"
# A change after the restore bumps the version (the trigger came back with the table).
check "the restored trigger bumps the version" "1" \
  "$(sql -d "$RESTORED_DB" -c "INSERT INTO ratings VALUES (1000, 1, 5)" -c "SELECT version FROM crm.cf_tracked_tables")"

[ "$failures" -eq 0 ] || exit 1
