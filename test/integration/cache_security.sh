#!/usr/bin/env bash
# What an attack on 0.1.0 found (docs/reliability.md lists each), one check
# each; every one failed on 0.1.0:
#  * a pre-created schema crm is refused by CREATE EXTENSION;
#  * a cached rating matrix is served only to a caller who may read the table
#    now (schema USAGE too), and only for plain tables: views and tables whose
#    rows change without their own statement triggers are read fresh;
#  * the cache never serves pre-change results after DETACH or DROP PARTITION,
#    DML on a partition, INSERT into an inheritance child, DML under
#    session_replication_role = replica, or ALTER COLUMN ... TYPE ... USING
#    (a reader backend keeps its cache; a second session makes the change);
#  * limits and bad input: memory limits hold, huge fold counts are refused at
#    once, merged counts cannot wrap around, and the odd inputs of the attack
#    give clear errors or finite answers.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database cache_security
ATTACK_DB=crm_it_attack_schema
cleanup() {
  "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" -c "DROP DATABASE IF EXISTS $ATTACK_DB" \
    -c "DROP ROLE IF EXISTS crm_eve" -c "DROP ROLE IF EXISTS crm_reader" >/dev/null 2>&1 || true
}
trap cleanup EXIT
failures=0
check() {  # description, expected, actual
  if [ "$2" = "$3" ]; then echo "  ok: $1"; else echo "  FAILED: $1 (expected '$2', got '$3')"; failures=$((failures + 1)); fi
}

# --- 1. a pre-created schema crm ------------------------------------------------
sql -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $ATTACK_DB;
DROP ROLE IF EXISTS crm_eve;
CREATE ROLE crm_eve LOGIN;
CREATE DATABASE $ATTACK_DB;
GRANT CREATE ON DATABASE $ATTACK_DB TO crm_eve;
SQL
sql -d "$ATTACK_DB" <<'SQL'
SET ROLE crm_eve;
CREATE SCHEMA crm;
CREATE FUNCTION crm.campaign_roi(integer, numeric) RETURNS double precision LANGUAGE sql AS 'SELECT 1';
RESET ROLE;
SQL
check "CREATE EXTENSION refuses a schema crm another role owns (42501)" "42501" \
  "$(sql -d "$ATTACK_DB" -c "DO \$\$ BEGIN CREATE EXTENSION crm_analytics; RAISE NOTICE 'installed'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*NOTICE:  //p')"
sql -d "$ATTACK_DB" -c "ALTER SCHEMA crm OWNER TO postgres"
check "... and one that already holds objects (42P06)" "42P06" \
  "$(sql -d "$ATTACK_DB" -c "DO \$\$ BEGIN CREATE EXTENSION crm_analytics; RAISE NOTICE 'installed'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*NOTICE:  //p')"
sql -d "$ATTACK_DB" -c "DROP FUNCTION crm.campaign_roi(integer, numeric)" -c "GRANT CREATE ON SCHEMA crm TO crm_eve"
check "... and one where another role may create objects (42501)" "42501" \
  "$(sql -d "$ATTACK_DB" -c "DO \$\$ BEGIN CREATE EXTENSION crm_analytics; RAISE NOTICE 'installed'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*NOTICE:  //p')"
sql -d "$ATTACK_DB" -c "REVOKE CREATE ON SCHEMA crm FROM crm_eve"
check "... and installs into an empty schema crm of its own" "installed" \
  "$(sql -d "$ATTACK_DB" -c "DO \$\$ BEGIN CREATE EXTENSION crm_analytics; RAISE NOTICE 'installed'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*NOTICE:  //p')"
check "internal calls are exact: campaign_report and kmeans_choose_k pass typed arguments" "2" \
  "$(grep -cE 'crm\.campaign_roi\(0::numeric, cost\)|NULL::bigint\);' "$REPO_ROOT"/sql/install/*.sql | awk -F: '{s+=$2} END {print s}')"

# --- 2-5. the rating-matrix cache ----------------------------------------------
sql <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION dblink;
DROP ROLE IF EXISTS crm_reader;
CREATE ROLE crm_reader;
GRANT USAGE ON SCHEMA crm TO crm_reader;
CREATE SCHEMA secret;
CREATE TABLE secret.ratings AS
SELECT u, i, ((u * 7 + i * 3) % 5 + 1)::float8 AS r FROM generate_series(1, 60) u, generate_series(1, 40) i WHERE (u + i) % 4 = 0;
SELECT crm.cf_track_changes('secret.ratings');
GRANT SELECT ON secret.ratings TO crm_reader;          -- but no USAGE on schema secret
-- A view whose rows depend on the caller.
CREATE TABLE owned_ratings AS SELECT *, CASE WHEN u % 2 = 0 THEN 'postgres' ELSE 'crm_reader' END AS owner FROM secret.ratings;
CREATE VIEW my_ratings AS SELECT u, i, r FROM owned_ratings WHERE owner = current_user;
GRANT SELECT ON owned_ratings, my_ratings TO crm_reader;
-- A partitioned table, an inheritance parent, a plain table.
CREATE TABLE part_r (u int, i int, r float8) PARTITION BY RANGE (u);
CREATE TABLE part_r1 PARTITION OF part_r FOR VALUES FROM (0) TO (31);
CREATE TABLE part_r2 PARTITION OF part_r FOR VALUES FROM (31) TO (1000);
INSERT INTO part_r SELECT * FROM secret.ratings;
SELECT crm.cf_track_changes('part_r');
CREATE TABLE inh_r (u int, i int, r float8);
INSERT INTO inh_r SELECT * FROM secret.ratings WHERE u <= 30;
CREATE TABLE inh_r_child () INHERITS (inh_r);
SELECT crm.cf_track_changes('inh_r');
CREATE TABLE plain_r AS SELECT * FROM secret.ratings;
SELECT crm.cf_track_changes('plain_r');
SQL

# One case: warm the reader's cache, change the table from another session,
# compare the reader's answer with a new backend's.
steps="$(mktemp)"
cat >"$steps" <<'STEPS'
SELECT pg_temp.recs(:'tbl'::regclass) IS NOT NULL AS warmed \g /dev/null
INSERT INTO before_change SELECT :'label', pg_temp.recs(:'tbl'::regclass),
  (SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'crm cf matrix' AND ident = 'public.' || :'tbl');
SELECT pg_temp.change(:'stmt') \g /dev/null
SELECT pg_temp.verdict(:'label', :'tbl');
STEPS
# The reader backend (this psql session) warms its cache and keeps it; the
# writer is another session (dblink); "fresh" is a third, new backend.
outcome="$(sql -v steps="$steps" <<'SQL'
CREATE FUNCTION pg_temp.conn() RETURNS text LANGUAGE sql AS $$
  SELECT format('dbname=%s port=%s host=%s user=%s', current_database(), current_setting('port'),
                split_part(current_setting('unix_socket_directories'), ',', 1), session_user) $$;
CREATE FUNCTION pg_temp.recs(tbl regclass) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(user_id || ':' || item_id, ',' ORDER BY user_id, rank)
  FROM crm.cf_recommend_batch(tbl, 'u', 'i', 'r', ARRAY[2, 3, 4, 5, 44]::bigint[], n => 3) $$;
CREATE FUNCTION pg_temp.fresh(tbl text) RETURNS text LANGUAGE sql AS $$
  SELECT v FROM dblink(pg_temp.conn(),
    format($q$SELECT string_agg(user_id || ':' || item_id, ',' ORDER BY user_id, rank)
              FROM crm.cf_recommend_batch(%L, 'u', 'i', 'r', ARRAY[2, 3, 4, 5, 44]::bigint[], n => 3)$q$, tbl)) AS t(v text) $$;
CREATE FUNCTION pg_temp.change(stmt text) RETURNS void LANGUAGE sql AS $$
  SELECT dblink_exec(pg_temp.conn(), stmt) $$;
-- Each step is a statement of its own: the reader holds no lock while the
-- writer changes the table.
CREATE TEMP TABLE before_change (label text, recs text, cached bigint);
CREATE FUNCTION pg_temp.verdict(label text, tbl text) RETURNS text LANGUAGE sql AS $$
  SELECT label || '=' || CASE WHEN a IS NOT DISTINCT FROM f AND a IS DISTINCT FROM b.recs THEN 'fresh'
                              WHEN a IS NOT DISTINCT FROM f THEN 'fresh(unchanged)' ELSE 'STALE' END
         || ' cached_before=' || b.cached
  FROM (SELECT pg_temp.recs(tbl::regclass) AS a, pg_temp.fresh(tbl) AS f) x, before_change b WHERE b.label = verdict.label $$;
\set label dml_on_partition
\set tbl part_r
\set stmt 'DELETE FROM part_r1 WHERE u IN (2, 3)'
\ir :steps
\set label detach_partition
\set tbl part_r
\set stmt 'ALTER TABLE part_r DETACH PARTITION part_r2'
\ir :steps
\set label drop_partition
\set tbl part_r
\set stmt 'DROP TABLE part_r1'
\ir :steps
\set label insert_into_child
\set tbl inh_r
\set stmt 'INSERT INTO inh_r_child SELECT 2, i, 5 FROM generate_series(1, 40) i'
\ir :steps
\set label replica_role
\set tbl plain_r
\set stmt 'SET session_replication_role = replica; DELETE FROM plain_r WHERE u IN (2, 3)'
\ir :steps
\set label alter_column_type
\set tbl plain_r
\set stmt 'ALTER TABLE plain_r ALTER COLUMN r TYPE float8 USING CASE WHEN u IN (4, 5) THEN NULL ELSE r END'
\ir :steps
SELECT 'plain_cached=' || (SELECT cacheable FROM crm.cf_tracked_tables WHERE ratings = 'plain_r'::regclass)
    || ',partitioned_cached=' || (SELECT cacheable FROM crm.cf_tracked_tables WHERE ratings = 'part_r'::regclass)
    || ',inheritance_cached=' || (SELECT cacheable FROM crm.cf_tracked_tables WHERE ratings = 'inh_r'::regclass);
-- Schema USAGE: a superuser warms the cache for secret.ratings, then a role
-- with SELECT on the table but no USAGE on its schema asks in the same backend.
SELECT 'warm=' || (pg_temp.recs('secret.ratings') IS NOT NULL);
SELECT 'secret_cached=' || count(*) FROM pg_backend_memory_contexts WHERE name = 'crm cf matrix' AND ident = 'secret.ratings';
SET ROLE crm_reader;
SELECT 'no_usage=' || sqlstate FROM (SELECT 1) x, LATERAL (SELECT 'x' AS sqlstate) y WHERE false;
DO $$ BEGIN
  PERFORM * FROM crm.cf_recommend('secret.ratings'::regclass, 'u', 'i', 'r', 2);
  RAISE NOTICE 'no_usage=served';
EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'no_usage=42501';
END $$;
RESET ROLE;
-- A view filtered by current_user, read by two roles in one backend.
SELECT 'view_as_owner=' || string_agg(DISTINCT (user_id % 2)::text, ',') FROM crm.cf_recommend_batch('my_ratings', 'u', 'i', 'r', n => 2);
SET ROLE crm_reader;
SELECT 'view_as_reader=' || string_agg(DISTINCT (user_id % 2)::text, ',') FROM crm.cf_recommend_batch('my_ratings', 'u', 'i', 'r', n => 2);
RESET ROLE;
SQL
)" 2>&1
outcome="$outcome
$(sql -c "SET client_min_messages = notice" -c "SET ROLE crm_reader" -c "DO \$\$ BEGIN PERFORM * FROM crm.cf_recommend('secret.ratings'::regclass, 'u', 'i', 'r', 2); RAISE NOTICE 'fresh_no_usage=served'; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'fresh_no_usage=42501'; END \$\$" 2>&1 | sed -n 's/.*NOTICE:  //p')"
echo "$outcome" | sed 's/^/    /'
for case in detach_partition drop_partition dml_on_partition insert_into_child replica_role alter_column_type; do
  check "the cache is not stale after $case (the change changes the answer)" "1" "$(echo "$outcome" | grep -cE "^$case=fresh ")"
done
check "the plain table was served from the cache before each change" "2" \
  "$(echo "$outcome" | grep -cE '^(replica_role|alter_column_type)=fresh cached_before=1$')"
check "partitioned and inheritance tables never were" "4" \
  "$(echo "$outcome" | grep -cE '^(dml_on_partition|detach_partition|drop_partition|insert_into_child)=fresh cached_before=0$')"
check "only plain tables are cached" "plain_cached=true,partitioned_cached=false,inheritance_cached=false" \
  "$(echo "$outcome" | grep -E '^plain_cached=')"
check "the superuser's call cached secret.ratings" "1" "$(echo "$outcome" | grep -c '^secret_cached=1$')"
check "a cached matrix is not served without USAGE on its schema" "1" "$(echo "$outcome" | grep -c 'no_usage=42501')"
check "... exactly as a fresh backend says" "1" "$(echo "$outcome" | grep -c 'fresh_no_usage=42501')"
owner_rows="$(echo "$outcome" | sed -n 's/^view_as_owner=//p')"
reader_rows="$(echo "$outcome" | sed -n 's/^view_as_reader=//p')"
check "a view's rows are read for each caller (owner: even users, reader: odd users)" "0;1" "$owner_rows;$reader_rows"

# --- 6-11. limits and odd inputs ------------------------------------------------
sqlstate() {  # the SQLSTATE of PL/pgSQL statements, or ok
  sql -c "DO \$\$ BEGIN $1; RAISE NOTICE 'ok'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*NOTICE:  //p'
}
check "k-means rows of 100,000 features stop at a 10 MB limit (53200)" "53200" \
  "$(sqlstate "SET LOCAL crm.max_fit_memory = '10MB'; PERFORM crm.kmeans_fit(array_fill(g::float8, ARRAY[100000]), 2) FROM generate_series(1, 200) g")"
check "kmeans_silhouette counts its sample x k distance matrix (53200)" "53200" \
  "$(sqlstate "SET LOCAL crm.max_fit_memory = '10MB'; PERFORM crm.kmeans_silhouette((SELECT crm.kmeans_fit(ARRAY[g::float8], crm.kmeans_options(2000, n_init => 1)) FROM generate_series(1, 3000) g), 'plain_r', ARRAY['u']::name[], 3000, 0)")"
check "cf_evaluate with folds > ratings is refused at once (22023)" "22023" \
  "$(sqlstate "SET LOCAL statement_timeout = '100ms'; PERFORM * FROM crm.cf_evaluate('plain_r', 'u', 'i', 'r', folds => 2147483647)")"
check "temp_fit with a known ambient below rising readings: a non-converged model with a note" "f|the readings do not approach the given ambient temperature" \
  "$(sql -c "SELECT (m).converged, (m).note FROM (SELECT crm.temp_fit(timestamptz '2025-01-01' + g * interval '1 minute', 5 + g * 0.1, 0) m FROM generate_series(1, 50) g) s")"
check "combining crafted states whose counts overflow int64 (22003)" "22003" \
  "$(sqlstate "PERFORM crm.conversion_uplift_combine(s) FROM (VALUES (decode('5601ffffffffffffff7f0000000000000000010000000000000000000000000000000000000000000000000000000000e03f', 'hex')), (decode('5601ffffffffffffff7f0000000000000000010000000000000000000000000000000000000000000000000000000000e03f', 'hex'))) v(s)")"
check "cf_track_changes of a dropped OID says 42P01" "42P01" "$(sqlstate "PERFORM crm.cf_track_changes(999999::regclass)")"
check "confidence 0.9999999999999999 computes a finite interval" "t" \
  "$(sql -c "SELECT isfinite_ok FROM (SELECT (u).ci_high < 'Infinity'::float8 AS isfinite_ok FROM (SELECT crm.campaign_uplift(g % 2 = 0, g % 7, 0.9999999999999999) u FROM generate_series(1, 100) g) s) t")"
check "cf_predict from two 1e308 ratings is finite" "1e+308" \
  "$(sql -c "CREATE TEMP TABLE big_r (u int, i int, r float8); INSERT INTO big_r VALUES (1, 1, 1e308), (1, 1, 1e308), (2, 1, 1e308), (2, 2, 1e308); SELECT prediction FROM crm.cf_predict('big_r', 'u', 'i', 'r', ARRAY[1], ARRAY[2])")"

[ "$failures" -eq 0 ] || exit 1
