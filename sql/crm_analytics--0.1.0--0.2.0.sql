-- crm_analytics 0.1.0 -> 0.2.0 upgrade script (frozen once 0.2.0 is released).
-- What changes for users is in docs/upgrading.md.

\echo Use "ALTER EXTENSION crm_analytics UPDATE TO '0.2.0'" to load this file. \quit

-------------------------------------------------------------------------------
-- Safety: schema crm must be ours alone (as the 0.2.0 install script checks)
-------------------------------------------------------------------------------

DO $crm_install_check$
DECLARE
    schema_oid oid;
    schema_owner oid;
    foreign_creators text;
    objects bigint;
BEGIN
    SELECT n.oid, n.nspowner INTO schema_oid, schema_owner
    FROM pg_catalog.pg_namespace n WHERE n.nspname = 'crm';
    IF schema_owner IS DISTINCT FROM (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER) THEN
        RAISE EXCEPTION 'crm_analytics: schema crm is owned by role %, not by the updating role %',
            pg_catalog.pg_get_userbyid(schema_owner), CURRENT_USER
            USING ERRCODE = '42501',
                  HINT = 'Drop or rename the existing schema crm (check what is in it first), then update again.';
    END IF;
    SELECT pg_catalog.string_agg(DISTINCT pg_catalog.pg_get_userbyid(a.grantee), ', ') INTO foreign_creators
    FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
    WHERE n.oid = schema_oid AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner;
    IF foreign_creators IS NOT NULL THEN
        RAISE EXCEPTION 'crm_analytics: other roles may create objects in schema crm (%)', foreign_creators
            USING ERRCODE = '42501', HINT = 'REVOKE CREATE ON SCHEMA crm FROM those roles first.';
    END IF;
    -- Functions and operators that are not the extension's could capture its
    -- internal calls: refuse to go on while there are any.
    SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = schema_oid
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                              AND d.objid = p.oid AND d.deptype = 'e'))
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o WHERE o.oprnamespace = schema_oid
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass
                              AND d.objid = o.oid AND d.deptype = 'e'))
      INTO objects;
    IF objects > 0 THEN
        RAISE EXCEPTION 'crm_analytics: schema crm holds % functions or operators that are not the extension''s', objects
            USING ERRCODE = '42P06',
                  HINT = 'Move them out of schema crm (they could capture the extension''s own calls), then update again.';
    END IF;
END
$crm_install_check$;

-------------------------------------------------------------------------------
-- Exact internal calls: no overload planted in schema crm can capture them
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION crm.campaign_report(
    results regclass,
    campaign_col name,
    treatment_col name,
    revenue_col name,
    costs regclass,
    cost_campaign_col name,
    cost_col name,
    confidence double precision DEFAULT 0.95)
RETURNS TABLE (
    campaign text,
    treated_n bigint,
    control_n bigint,
    treated_mean double precision,
    control_mean double precision,
    uplift double precision,
    incremental_revenue double precision,
    cost numeric,
    roi_pct double precision,
    roi_ci_low double precision,
    roi_ci_high double precision,
    p_value double precision,
    verdict text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF results IS NULL OR campaign_col IS NULL OR treatment_col IS NULL OR revenue_col IS NULL
       OR costs IS NULL OR cost_campaign_col IS NULL OR cost_col IS NULL OR confidence IS NULL THEN
        RAISE EXCEPTION 'campaign_report: no argument may be NULL' USING ERRCODE = '22004';
    END IF;
    PERFORM crm._require_relation(results, 'campaign_report', 'results');
    PERFORM crm._require_relation(costs, 'campaign_report', 'costs');
    -- Identifiers are quoted (%I); regclass prints a quoted, qualified name.
    RETURN QUERY EXECUTE format($q$
        WITH effect AS (
            SELECT %1$I::text AS campaign,
                   crm.campaign_uplift(%2$I::boolean, %3$I::double precision, $1) AS u
            FROM %4$s GROUP BY 1),
        spend AS (
            SELECT %5$I::text AS campaign, sum(%6$I)::numeric AS cost FROM %7$s GROUP BY 1),
        roi AS (
            SELECT e.campaign, (e.u).*, s.cost,
                   CASE WHEN s.cost > 0 THEN
                     ((e.u).incremental_revenue - s.cost::double precision) / s.cost::double precision * 100 END AS roi_pct,
                   CASE WHEN s.cost > 0 THEN
                     ((e.u).ci_low * (e.u).treated_n - s.cost::double precision) / s.cost::double precision * 100 END AS roi_ci_low,
                   CASE WHEN s.cost > 0 THEN
                     ((e.u).ci_high * (e.u).treated_n - s.cost::double precision) / s.cost::double precision * 100 END AS roi_ci_high
            FROM effect e LEFT JOIN spend s ON s.campaign = e.campaign)
        SELECT campaign, treated_n, control_n, treated_mean, control_mean, uplift, incremental_revenue, cost,
               roi_pct, roi_ci_low, roi_ci_high, p_value,
               -- a negative, NaN or infinite total cost is bad data: campaign_roi raises 22023
               CASE WHEN cost IS NOT NULL AND NOT (cost >= 0 AND cost < 'Infinity'::numeric)
                    THEN crm.campaign_roi(0::numeric, cost)::text
                    WHEN roi_ci_low > 0 THEN 'profitable'
                    WHEN roi_ci_high < 0 THEN 'loss'
                    ELSE 'inconclusive' END
        FROM roi ORDER BY campaign $q$,
        campaign_col, treatment_col, revenue_col, results, cost_campaign_col, cost_col, costs)
    USING confidence;
END
$$;

CREATE OR REPLACE FUNCTION crm.kmeans_choose_k(relation regclass, feature_cols name[], k_min integer DEFAULT 2,
                                    k_max integer DEFAULT 10, seed integer DEFAULT 0, n_init integer DEFAULT 10,
                                    scale text DEFAULT 'zscore', silhouette_sample bigint DEFAULT 10000)
RETURNS TABLE (k integer, inertia double precision, silhouette double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m crm.kmeans_model;
    clusters integer;
BEGIN
    IF k_min IS NULL OR k_max IS NULL OR k_min < 1 OR k_max < k_min OR k_max > 100 THEN
        RAISE EXCEPTION 'kmeans_choose_k: need 1 <= k_min <= k_max <= 100' USING ERRCODE = '22023';
    END IF;
    FOR clusters IN k_min .. k_max LOOP
        k := clusters;
        m := crm.kmeans_fit_table(relation, feature_cols, clusters, seed, n_init, scale, NULL::bigint);
        inertia := (crm.kmeans_info(m)).inertia;
        silhouette := crm.kmeans_silhouette(m, relation, feature_cols, silhouette_sample, seed);
        RETURN NEXT;
    END LOOP;
END
$$;

-------------------------------------------------------------------------------
-- Recommendation cache registry: nobody writes the versions table directly
-------------------------------------------------------------------------------

DROP TRIGGER version_only_grows ON crm.cf_table_versions;
DROP TRIGGER version_starts_at_one ON crm.cf_table_versions;
DROP FUNCTION crm._cf_version_only_grows();
DROP FUNCTION crm._cf_version_starts_at_one();
REVOKE INSERT, UPDATE ON crm.cf_table_versions FROM PUBLIC;
COMMENT ON TABLE crm.cf_table_versions IS
'Change versions of ratings tables registered with crm.cf_track_changes; bumped (only) by their statement trigger so '
'that backends can keep a rating matrix in memory and know, transactionally, when it is out of date. Read-only '
'for everyone; a table with no row here has not changed since it was registered or restored (version 0).';

CREATE OR REPLACE FUNCTION crm._cf_bump_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO crm.cf_table_versions AS v (relid) VALUES (TG_RELID)
    ON CONFLICT (relid) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm._cf_bump_version() IS
'Statement trigger of tracked ratings tables: bumps the table''s row of crm.cf_table_versions (internal; the one '
'SECURITY DEFINER function, see docs/reliability.md).';

CREATE OR REPLACE FUNCTION crm.cf_track_changes(ratings regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $$
BEGIN
    IF ratings IS NULL THEN
        RAISE EXCEPTION 'cf_track_changes: ratings must not be NULL' USING ERRCODE = '22004';
    END IF;
    PERFORM crm._require_relation(ratings, 'cf_track_changes', 'ratings');
    -- A new trigger (a new OID) also retires every matrix cached under the old one.
    EXECUTE format('DROP TRIGGER IF EXISTS crm_cf_track_changes ON %s', ratings);
    EXECUTE format('CREATE TRIGGER crm_cf_track_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION crm._cf_bump_version()', ratings);
    -- ALWAYS: changes made under session_replication_role = replica (logical
    -- replication, some bulk loaders) must bump the version too.
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER crm_cf_track_changes', ratings);
END
$$;
COMMENT ON FUNCTION crm.cf_track_changes(regclass) IS
'Lets backends cache the rating matrix of this table (fast repeated calls): adds a statement trigger that bumps '
'the table''s version on every change. Requires ownership of the table. Only plain tables that are neither '
'partitions nor inheritance parents or children are cached; every other relation is read fresh on every call.';

CREATE VIEW crm.cf_tracked_tables AS
SELECT c.oid::regclass AS ratings, COALESCE(v.version, 0) AS version,
       (c.relkind = 'r' AND NOT c.relispartition AND NOT c.relhassubclass AND NOT c.relrowsecurity
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)
        AND t.tgenabled = 'A') AS cacheable
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
LEFT JOIN crm.cf_table_versions v ON v.relid = c.oid
WHERE t.tgname = 'crm_cf_track_changes' AND t.tgfoid = 'crm._cf_bump_version()'::pg_catalog.regprocedure;
COMMENT ON VIEW crm.cf_tracked_tables IS
'Tables registered with crm.cf_track_changes, their current change version (0 = unchanged since registration or '
'restore) and whether a backend may cache their rating matrix (plain table, no row-level security, trigger enabled '
'ALWAYS). Record the version next to a model to know which data it was trained on.';
GRANT SELECT ON crm.cf_tracked_tables TO PUBLIC;

-- Registered tables keep being cached: their triggers now fire under
-- session_replication_role = replica too.
DO $crm_upgrade_triggers$
DECLARE
    tracked regclass;
BEGIN
    FOR tracked IN
        SELECT t.tgrelid::pg_catalog.regclass FROM pg_catalog.pg_trigger t
        WHERE t.tgname = 'crm_cf_track_changes' AND t.tgenabled = 'O'
          AND t.tgfoid = 'crm._cf_bump_version()'::pg_catalog.regprocedure
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER crm_cf_track_changes', tracked);
    END LOOP;
END
$crm_upgrade_triggers$;

-------------------------------------------------------------------------------
-- k-means options: one check, in the core (the PL/pgSQL copy accepted what the
-- core refused, and kmeans_fit_distributed accepted tol = Infinity)
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION crm.kmeans_options(
    k integer,
    seed integer DEFAULT 0,
    n_init integer DEFAULT 10,
    max_iter integer DEFAULT 300,
    tol double precision DEFAULT 1e-4,
    scale text DEFAULT 'zscore',
    feature_names text[] DEFAULT NULL,
    sample_size bigint DEFAULT NULL,
    progress boolean DEFAULT false)
RETURNS crm.kmeans_options
AS 'MODULE_PATHNAME', 'crm_kmeans_options'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE OR REPLACE FUNCTION crm.kmeans_fit_distributed(
    relation regclass, feature_cols name[], k integer, shard_col name DEFAULT NULL,
    seed integer DEFAULT 0, max_iter integer DEFAULT 100, tol double precision DEFAULT 1e-8,
    sample_size bigint DEFAULT 100000, scale text DEFAULT 'zscore', initial_model crm.kmeans_model DEFAULT NULL)
RETURNS crm.kmeans_model
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text;
    model crm.kmeans_model;
    next_model crm.kmeans_model;
    step_sql text;
    i integer;
BEGIN
    IF relation IS NULL OR feature_cols IS NULL OR k IS NULL OR max_iter IS NULL OR tol IS NULL THEN
        RAISE EXCEPTION 'kmeans_fit_distributed: relation, feature_cols, k, max_iter and tol must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    -- The one k-means options check (C, in the core): k, max_iter, tol finite and >= 0, scale, sample_size.
    PERFORM crm.kmeans_options(k, seed => seed, max_iter => max_iter, tol => tol, scale => scale,
                               sample_size => sample_size);
    PERFORM crm._require_relation(relation, 'kmeans_fit_distributed', 'relation');
    IF cardinality(feature_cols) = 0 OR array_position(feature_cols, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'kmeans_fit_distributed: feature_cols must name at least one column, none NULL'
            USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(format('%I::double precision', c), ', ' ORDER BY o) INTO cols
    FROM unnest(feature_cols) WITH ORDINALITY u(c, o);
    model := initial_model;
    IF model IS NULL THEN
        -- Seed: k-means++ on a uniform sample. The rows are read in a fixed order, so the sample and
        -- the seeds do not depend on the order in which the shards deliver them (one pass over the data;
        -- the sample keeps memory bounded). The seed model's scaling is kept for the whole fit.
        EXECUTE format('SELECT crm.kmeans_fit(ARRAY[%1$s], crm.kmeans_options($1, seed => $2, n_init => 1, scale => $3, '
                       'feature_names => $4, sample_size => $5) ORDER BY %1$s) FROM %2$s', cols, relation)
            INTO model USING k, seed, scale, feature_cols::text[], sample_size;
    END IF;
    IF model IS NULL THEN
        RETURN NULL;
    END IF;
    -- One scatter-gather per iteration: with shard_col the per-shard step is pushed down to the
    -- shards (postgres_fdw with enable_partitionwise_aggregate) and only k sums travel back.
    IF shard_col IS NULL THEN
        step_sql := format('SELECT crm.kmeans_step(ARRAY[%s], $1) FROM %s', cols, relation);
    ELSE
        step_sql := format('SELECT crm.kmeans_step_combine(p) FROM (SELECT %I, crm.kmeans_step_partial(ARRAY[%s], $1) AS p '
                           'FROM %s GROUP BY 1) s', shard_col, cols, relation);
    END IF;
    FOR i IN 1 .. max_iter LOOP
        EXECUTE step_sql INTO next_model USING model;
        EXIT WHEN crm.kmeans_centroid_shift(model, next_model) <= tol;
        model := next_model;
    END LOOP;
    RETURN next_model;
END
$$;
