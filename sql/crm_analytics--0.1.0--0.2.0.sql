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

-- k-means cluster names that tell clusters apart (crm.kmeans_labels stays as it was).
CREATE FUNCTION crm.kmeans_cluster_names(model crm.kmeans_model)
RETURNS TABLE (cluster integer, name text, value_rank integer, value_score double precision, profile text)
AS 'MODULE_PATHNAME', 'crm_kmeans_cluster_names'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.kmeans_cluster_names(crm.kmeans_model) IS
'One row per cluster, most valuable first: a name distinct within the model, the value rank (1 = most valuable), the '
'value score (mean z of the centroid against the population, recency counted negatively; with RFM features '
'z_frequency + z_monetary - z_recency) and the profile. With RFM features clusters sharing a CRM category are told '
'apart by value: VIP / High-Value / Medium-Value, Low-Value / Lowest-Value, "At-Risk (higher value)" ... '
'crm.kmeans_labels is unchanged.';

-------------------------------------------------------------------------------
-- Customer lifetime value and churn: BG/NBD, Pareto/NBD, Gamma-Gamma
-------------------------------------------------------------------------------

CREATE TYPE crm.customer_summary AS (
    frequency bigint,
    recency double precision,
    age double precision,
    monetary double precision,
    first_purchase date,
    last_purchase date);
COMMENT ON TYPE crm.customer_summary IS
'One customer''s buy-till-you-die summary at as_of: frequency x (purchase days after the first), recency t_x (first to '
'last purchase day), age T (first purchase day to as_of) in the chosen time unit, and monetary (mean spend of the '
'repeat days, same-day orders summed; 0 when x = 0).';

CREATE TYPE crm.bgnbd_model AS (
    version integer,
    r double precision,
    alpha double precision,
    a double precision,
    b double precision,
    log_likelihood double precision,
    customers bigint,
    iterations integer,
    converged boolean,
    se_r double precision,
    se_alpha double precision,
    se_a double precision,
    se_b double precision,
    note text);
COMMENT ON TYPE crm.bgnbd_model IS
'A fitted BG/NBD model (Fader, Hardie and Lee 2005): r, alpha, a, b, the log-likelihood, the customers fitted, '
'iterations, whether the fit converged, standard errors (from the Hessian) and a note when it did not converge.';

CREATE TYPE crm.paretonbd_model AS (
    version integer,
    r double precision,
    alpha double precision,
    s double precision,
    beta double precision,
    log_likelihood double precision,
    customers bigint,
    iterations integer,
    converged boolean,
    se_r double precision,
    se_alpha double precision,
    se_s double precision,
    se_beta double precision,
    note text);
COMMENT ON TYPE crm.paretonbd_model IS
'A fitted Pareto/NBD model (Schmittlein, Morrison and Colombo 1987): r, alpha, s, beta, the log-likelihood, the '
'customers fitted, iterations, whether the fit converged, standard errors and a note when it did not converge.';

CREATE TYPE crm.gammagamma_model AS (
    version integer,
    p double precision,
    q double precision,
    gamma double precision,
    log_likelihood double precision,
    customers bigint,
    iterations integer,
    converged boolean,
    se_p double precision,
    se_q double precision,
    se_gamma double precision,
    note text);
COMMENT ON TYPE crm.gammagamma_model IS
'A fitted Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV"): p, q, gamma over the customers with '
'repeat purchases, the log-likelihood, iterations, convergence, standard errors and a note.';

-- The per-customer summary, as an aggregate over one customer's orders.
CREATE FUNCTION crm._purchases_transfn(internal, date, double precision, date, text)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_purchases_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._purchases_transfn(internal, date, double precision, date, text)
IS 'Transition function of crm.customer_summary (internal).';
CREATE FUNCTION crm._purchases_transfn(internal, date, double precision, date)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_purchases_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._purchases_transfn(internal, date, double precision, date)
IS 'Transition function of crm.customer_summary (internal).';
CREATE FUNCTION crm._purchases_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_purchases_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._purchases_combine(internal, internal) IS 'Combine function of crm.customer_summary (internal).';
CREATE FUNCTION crm._purchases_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_purchases_serial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._purchases_serial(internal) IS 'Serialises the crm.customer_summary state (internal).';
CREATE FUNCTION crm._purchases_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_purchases_deserial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._purchases_deserial(bytea, internal) IS 'Reads a serialised crm.customer_summary state (internal).';
CREATE FUNCTION crm._customer_summary_final(internal)
RETURNS crm.customer_summary AS 'MODULE_PATHNAME', 'crm_customer_summary_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm._customer_summary_final(internal) IS 'Final function of crm.customer_summary (internal).';

CREATE AGGREGATE crm.customer_summary(purchase_date date, amount double precision, as_of date, time_unit text) (
    SFUNC = crm._purchases_transfn, STYPE = internal,
    COMBINEFUNC = crm._purchases_combine, SERIALFUNC = crm._purchases_serial, DESERIALFUNC = crm._purchases_deserial,
    FINALFUNC = crm._customer_summary_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.customer_summary(date, double precision, date, text) IS
'One customer''s summary from their orders (GROUP BY customer): same-day orders are one purchase (amounts summed), '
'orders after as_of are ignored; time_unit day or week. NULL when the customer had no order on or before as_of.';
CREATE AGGREGATE crm.customer_summary(purchase_date date, amount double precision, as_of date) (
    SFUNC = crm._purchases_transfn, STYPE = internal,
    COMBINEFUNC = crm._purchases_combine, SERIALFUNC = crm._purchases_serial, DESERIALFUNC = crm._purchases_deserial,
    FINALFUNC = crm._customer_summary_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.customer_summary(date, double precision, date) IS
'crm.customer_summary with time in weeks (as the BG/NBD and Gamma-Gamma papers).';

-- Fits: aggregates over the summaries; the state keeps counts of identical rows.
CREATE FUNCTION crm._clv_purchase_transfn(internal, double precision, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_purchase_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._clv_purchase_transfn(internal, double precision, double precision, double precision)
IS 'Transition function of crm.bgnbd_fit and crm.paretonbd_fit (internal).';
CREATE FUNCTION crm._clv_purchase_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_purchase_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._clv_purchase_combine(internal, internal) IS 'Combine function of the BG/NBD and Pareto/NBD fits (internal).';
CREATE FUNCTION crm._clv_purchase_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_clv_purchase_serial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._clv_purchase_serial(internal) IS 'Serialises a BG/NBD or Pareto/NBD fit state (internal).';
CREATE FUNCTION crm._clv_purchase_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_purchase_deserial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._clv_purchase_deserial(bytea, internal) IS 'Reads a serialised BG/NBD or Pareto/NBD fit state (internal).';
CREATE FUNCTION crm._clv_purchase_merge_bytea(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_purchase_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._clv_purchase_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';
CREATE FUNCTION crm._bgnbd_final(internal)
RETURNS crm.bgnbd_model AS 'MODULE_PATHNAME', 'crm_bgnbd_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm._bgnbd_final(internal) IS 'Final function of crm.bgnbd_fit: runs the fit (internal).';
CREATE FUNCTION crm._paretonbd_final(internal)
RETURNS crm.paretonbd_model AS 'MODULE_PATHNAME', 'crm_paretonbd_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm._paretonbd_final(internal) IS 'Final function of crm.paretonbd_fit: runs the fit (internal).';

CREATE AGGREGATE crm.bgnbd_fit(frequency double precision, recency double precision, age double precision) (
    SFUNC = crm._clv_purchase_transfn, STYPE = internal,
    COMBINEFUNC = crm._clv_purchase_combine, SERIALFUNC = crm._clv_purchase_serial,
    DESERIALFUNC = crm._clv_purchase_deserial, FINALFUNC = crm._bgnbd_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.bgnbd_fit(double precision, double precision, double precision) IS
'Fits BG/NBD by maximum likelihood (L-BFGS on log-parameters, analytic gradient) to customer summaries (frequency x, '
'recency t_x, age T, one time unit). Rows with a NULL are skipped. A fit that does not converge says so (converged '
'false, a note and a WARNING).';
CREATE AGGREGATE crm.paretonbd_fit(frequency double precision, recency double precision, age double precision) (
    SFUNC = crm._clv_purchase_transfn, STYPE = internal,
    COMBINEFUNC = crm._clv_purchase_combine, SERIALFUNC = crm._clv_purchase_serial,
    DESERIALFUNC = crm._clv_purchase_deserial, FINALFUNC = crm._paretonbd_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.paretonbd_fit(double precision, double precision, double precision) IS
'Fits Pareto/NBD by maximum likelihood (likelihood in log space) to customer summaries (frequency x, recency t_x, '
'age T). Rows with a NULL are skipped. A fit that does not converge says so.';

CREATE AGGREGATE crm.bgnbd_fit_partial(frequency double precision, recency double precision, age double precision) (
    SFUNC = crm._clv_purchase_transfn, STYPE = internal,
    COMBINEFUNC = crm._clv_purchase_combine, SERIALFUNC = crm._clv_purchase_serial,
    DESERIALFUNC = crm._clv_purchase_deserial, FINALFUNC = crm._clv_purchase_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.bgnbd_fit_partial(double precision, double precision, double precision) IS
'The state of crm.bgnbd_fit as bytea (per shard); combine with crm.bgnbd_fit_combine.';
CREATE AGGREGATE crm.bgnbd_fit_combine(partial_state bytea) (
    SFUNC = crm._clv_purchase_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._clv_purchase_combine, SERIALFUNC = crm._clv_purchase_serial,
    DESERIALFUNC = crm._clv_purchase_deserial, FINALFUNC = crm._bgnbd_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.bgnbd_fit_combine(bytea) IS
'Combines states from crm.bgnbd_fit_partial into the result of crm.bgnbd_fit. NULL states are skipped.';
CREATE AGGREGATE crm.paretonbd_fit_partial(frequency double precision, recency double precision, age double precision) (
    SFUNC = crm._clv_purchase_transfn, STYPE = internal,
    COMBINEFUNC = crm._clv_purchase_combine, SERIALFUNC = crm._clv_purchase_serial,
    DESERIALFUNC = crm._clv_purchase_deserial, FINALFUNC = crm._clv_purchase_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.paretonbd_fit_partial(double precision, double precision, double precision) IS
'The state of crm.paretonbd_fit as bytea (per shard); combine with crm.paretonbd_fit_combine.';
CREATE AGGREGATE crm.paretonbd_fit_combine(partial_state bytea) (
    SFUNC = crm._clv_purchase_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._clv_purchase_combine, SERIALFUNC = crm._clv_purchase_serial,
    DESERIALFUNC = crm._clv_purchase_deserial, FINALFUNC = crm._paretonbd_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.paretonbd_fit_combine(bytea) IS
'Combines states from crm.paretonbd_fit_partial into the result of crm.paretonbd_fit. NULL states are skipped.';

CREATE FUNCTION crm._clv_spend_transfn(internal, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_spend_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._clv_spend_transfn(internal, double precision, double precision)
IS 'Transition function of crm.gammagamma_fit (internal).';
CREATE FUNCTION crm._clv_spend_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_spend_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._clv_spend_combine(internal, internal) IS 'Combine function of crm.gammagamma_fit (internal).';
CREATE FUNCTION crm._clv_spend_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_clv_spend_serial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._clv_spend_serial(internal) IS 'Serialises the crm.gammagamma_fit state (internal).';
CREATE FUNCTION crm._clv_spend_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_spend_deserial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._clv_spend_deserial(bytea, internal) IS 'Reads a serialised crm.gammagamma_fit state (internal).';
CREATE FUNCTION crm._clv_spend_merge_bytea(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_clv_spend_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._clv_spend_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';
CREATE FUNCTION crm._gammagamma_final(internal)
RETURNS crm.gammagamma_model AS 'MODULE_PATHNAME', 'crm_gammagamma_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm._gammagamma_final(internal) IS 'Final function of crm.gammagamma_fit: runs the fit (internal).';

CREATE AGGREGATE crm.gammagamma_fit(frequency double precision, monetary double precision) (
    SFUNC = crm._clv_spend_transfn, STYPE = internal,
    COMBINEFUNC = crm._clv_spend_combine, SERIALFUNC = crm._clv_spend_serial,
    DESERIALFUNC = crm._clv_spend_deserial, FINALFUNC = crm._gammagamma_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.gammagamma_fit(double precision, double precision) IS
'Fits the Gamma-Gamma spend model to (frequency x, mean repeat spend m) of the customers with x > 0 (customers with '
'x = 0 are skipped, as in the paper). Rows with a NULL are skipped.';
CREATE AGGREGATE crm.gammagamma_fit_partial(frequency double precision, monetary double precision) (
    SFUNC = crm._clv_spend_transfn, STYPE = internal,
    COMBINEFUNC = crm._clv_spend_combine, SERIALFUNC = crm._clv_spend_serial,
    DESERIALFUNC = crm._clv_spend_deserial, FINALFUNC = crm._clv_spend_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.gammagamma_fit_partial(double precision, double precision) IS
'The state of crm.gammagamma_fit as bytea (per shard); combine with crm.gammagamma_fit_combine.';
CREATE AGGREGATE crm.gammagamma_fit_combine(partial_state bytea) (
    SFUNC = crm._clv_spend_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._clv_spend_combine, SERIALFUNC = crm._clv_spend_serial,
    DESERIALFUNC = crm._clv_spend_deserial, FINALFUNC = crm._gammagamma_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.gammagamma_fit_combine(bytea) IS
'Combines states from crm.gammagamma_fit_partial into the result of crm.gammagamma_fit. NULL states are skipped.';

-- Scoring: one customer's summary and a model. STRICT: a NULL gives NULL.
CREATE FUNCTION crm.p_alive(model crm.bgnbd_model, frequency double precision, recency double precision,
                            age double precision, allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_bgnbd_p_alive' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.p_alive(crm.bgnbd_model, double precision, double precision, double precision, boolean) IS
'P(alive) of a customer (x, t_x, T) under a BG/NBD model: the probability that the customer has not dropped out.';
CREATE FUNCTION crm.p_alive(model crm.paretonbd_model, frequency double precision, recency double precision,
                            age double precision, allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_paretonbd_p_alive' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.p_alive(crm.paretonbd_model, double precision, double precision, double precision, boolean) IS
'P(alive) of a customer (x, t_x, T) under a Pareto/NBD model.';

CREATE FUNCTION crm.expected_purchases(model crm.bgnbd_model, frequency double precision, recency double precision,
                                       age double precision, horizon double precision,
                                       allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_bgnbd_expected_purchases' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.expected_purchases(crm.bgnbd_model, double precision, double precision, double precision, double precision, boolean) IS
'Expected purchases of a customer (x, t_x, T) in the next horizon time units, E[Y(horizon) | x, t_x, T] (BG/NBD).';
CREATE FUNCTION crm.expected_purchases(model crm.paretonbd_model, frequency double precision, recency double precision,
                                       age double precision, horizon double precision,
                                       allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_paretonbd_expected_purchases' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.expected_purchases(crm.paretonbd_model, double precision, double precision, double precision, double precision, boolean) IS
'Expected purchases of a customer (x, t_x, T) in the next horizon time units (Pareto/NBD).';

CREATE FUNCTION crm.expected_purchases_new_customer(model crm.bgnbd_model, horizon double precision,
                                                    allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_bgnbd_population_purchases' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.expected_purchases_new_customer(crm.bgnbd_model, double precision, boolean) IS
'E[X(t)]: expected purchases in the first t time units of a customer just acquired (BG/NBD).';
CREATE FUNCTION crm.expected_purchases_new_customer(model crm.paretonbd_model, horizon double precision,
                                                    allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_paretonbd_population_purchases' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.expected_purchases_new_customer(crm.paretonbd_model, double precision, boolean) IS
'E[X(t)]: expected purchases in the first t time units of a customer just acquired (Pareto/NBD).';

CREATE FUNCTION crm.prob_purchase(model crm.bgnbd_model, frequency double precision, recency double precision,
                                  age double precision, horizon double precision,
                                  allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_bgnbd_prob_purchase' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.prob_purchase(crm.bgnbd_model, double precision, double precision, double precision, double precision, boolean) IS
'Probability that a customer (x, t_x, T) buys at least once in the next horizon time units (BG/NBD).';
CREATE FUNCTION crm.prob_purchase(model crm.paretonbd_model, frequency double precision, recency double precision,
                                  age double precision, horizon double precision,
                                  allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_paretonbd_prob_purchase' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.prob_purchase(crm.paretonbd_model, double precision, double precision, double precision, double precision, boolean) IS
'Probability that a customer (x, t_x, T) buys at least once in the next horizon time units (Pareto/NBD).';

CREATE FUNCTION crm.expected_spend(model crm.gammagamma_model, frequency double precision, monetary double precision,
                                   allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_gammagamma_expected_spend' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.expected_spend(crm.gammagamma_model, double precision, double precision, boolean) IS
'Expected mean spend per purchase of a customer with x repeat purchases of mean m (Gamma-Gamma): '
'p (gamma + x m) / (p x + q - 1); the population mean for x = 0.';

CREATE FUNCTION crm.clv(model crm.bgnbd_model, spend_model crm.gammagamma_model, frequency double precision,
                        recency double precision, age double precision, monetary double precision,
                        months integer DEFAULT 12, discount_rate double precision DEFAULT 0.01,
                        margin double precision DEFAULT 1, time_unit text DEFAULT 'week',
                        allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_bgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.clv(crm.bgnbd_model, crm.gammagamma_model, double precision, double precision, double precision, double precision, integer, double precision, double precision, text, boolean) IS
'Customer lifetime value over months months: sum over i of margin x expected spend x (E[Y(t_i)] - E[Y(t_(i-1))]) / '
'(1 + discount_rate)^i, t_i = i months in the models'' time unit (a month = 4.345 weeks or 30 days), as lifetimes'' '
'customer_lifetime_value (BG/NBD purchases, Gamma-Gamma spend).';
CREATE FUNCTION crm.clv(model crm.paretonbd_model, spend_model crm.gammagamma_model, frequency double precision,
                        recency double precision, age double precision, monetary double precision,
                        months integer DEFAULT 12, discount_rate double precision DEFAULT 0.01,
                        margin double precision DEFAULT 1, time_unit text DEFAULT 'week',
                        allow_unconverged boolean DEFAULT false)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_paretonbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.clv(crm.paretonbd_model, crm.gammagamma_model, double precision, double precision, double precision, double precision, integer, double precision, double precision, text, boolean) IS
'Customer lifetime value as crm.clv with a Pareto/NBD purchase model.';

CREATE FUNCTION crm.churn_risk(p_alive double precision, expected_purchases double precision,
                               high_alive_below double precision DEFAULT 0.3,
                               medium_alive_below double precision DEFAULT 0.7,
                               medium_purchases_below double precision DEFAULT 0.5)
RETURNS text AS 'MODULE_PATHNAME', 'crm_churn_risk' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm.churn_risk(double precision, double precision, double precision, double precision, double precision) IS
'Churn-risk tier: high when P(alive) < high_alive_below (0.3); medium when P(alive) < medium_alive_below (0.7) or '
'fewer than medium_purchases_below (0.5) purchases are expected over the horizon; low otherwise.';

-- One call for analysts and scheduled jobs: orders in, one row per customer out.
CREATE FUNCTION crm._clv_analyze_scan(orders regclass, customer_col name, date_col name, amount_col name, as_of date,
                                      time_unit text, months integer, discount_rate double precision,
                                      margin double precision, horizon double precision)
RETURNS TABLE (customer_key bigint, frequency bigint, recency double precision, age double precision,
               monetary double precision, p_alive double precision, expected_purchases double precision,
               expected_spend double precision, clv double precision, churn_risk text)
AS 'MODULE_PATHNAME', 'crm_clv_analyze_scan'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._clv_analyze_scan(regclass, name, name, name, date, text, integer, double precision, double precision, double precision) IS
'The rows of crm.clv_analyze_typed from a direct read of a plain orders table, or no rows when that read would not '
'be provably the same as its query (internal).';

CREATE FUNCTION crm.clv_analyze_typed(
    orders regclass, customer_col name, date_col name, amount_col name, key_type anyelement,
    as_of date DEFAULT NULL, time_unit text DEFAULT 'week', months integer DEFAULT 12,
    discount_rate double precision DEFAULT 0.01, margin double precision DEFAULT 1,
    horizon double precision DEFAULT NULL, allow_unconverged boolean DEFAULT false)
RETURNS TABLE (
    customer_key anyelement,
    frequency bigint,
    recency double precision,
    age double precision,
    monetary double precision,
    p_alive double precision,
    expected_purchases double precision,
    expected_spend double precision,
    clv double precision,
    churn_risk text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bg crm.bgnbd_model;
    gg crm.gammagamma_model;
    cutoff date;
    span double precision;
    column_type regtype;
BEGIN
    IF orders IS NULL OR customer_col IS NULL OR date_col IS NULL OR amount_col IS NULL OR time_unit IS NULL
       OR months IS NULL OR discount_rate IS NULL OR margin IS NULL THEN
        RAISE EXCEPTION 'clv_analyze_typed: orders, the column names, time_unit, months, discount_rate and margin must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    PERFORM crm._require_relation(orders, 'clv_analyze_typed', 'orders');
    IF time_unit NOT IN ('day', 'week') THEN
        RAISE EXCEPTION 'clv_analyze_typed: time_unit must be day or week, got %', time_unit USING ERRCODE = '22023';
    END IF;
    -- The customer key comes back in key_type's type: an integer column for an integer key, else the same type.
    SELECT a.atttypid::regtype INTO column_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = orders AND a.attname = customer_col AND a.attnum > 0 AND NOT a.attisdropped;
    IF column_type IS NULL THEN
        RAISE EXCEPTION 'clv_analyze: column "%" of relation % does not exist', customer_col, orders USING ERRCODE = '42703';
    END IF;
    IF column_type <> pg_catalog.pg_typeof(key_type)
       AND NOT (column_type IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
                AND pg_catalog.pg_typeof(key_type) IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)) THEN
        RAISE EXCEPTION 'clv_analyze: customer_col "%" is %, but the result''s customer_key is %', customer_col, column_type,
            pg_catalog.pg_typeof(key_type)
            USING ERRCODE = '42804', HINT = format('Use crm.clv_analyze_typed(..., key_type => NULL::%s).', column_type);
    END IF;
    cutoff := as_of;
    IF cutoff IS NULL THEN
        EXECUTE format('SELECT max(%I)::date FROM %s', date_col, orders) INTO cutoff;
        IF cutoff IS NULL THEN
            RETURN;  -- no orders
        END IF;
    END IF;
    -- The horizon of expected purchases and of the churn tier: the CLV horizon by default.
    span := coalesce(horizon, months * CASE time_unit WHEN 'week' THEN 4.345 ELSE 30 END);
    -- A plain table with integer customer keys is read directly where that provably gives the rows of the
    -- query below (docs/clv.md); no rows back means it did not apply, or no customer had an order by as_of.
    -- Only when the key comes back in the column's own type or as bigint: a narrower key_type would cast
    -- every row's key in the query (an out-of-range key is its error), but only the returned keys here.
    IF column_type IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
       AND pg_catalog.pg_typeof(key_type) IN ('bigint'::regtype, column_type) THEN
        RETURN QUERY EXECUTE format(
            'SELECT customer_key::%s, frequency, recency, age, monetary, p_alive, expected_purchases, expected_spend, '
            'clv, churn_risk FROM crm._clv_analyze_scan($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
            pg_catalog.pg_typeof(key_type)::text)
        USING orders, customer_col, date_col, amount_col, cutoff, time_unit, months, discount_rate, margin, span;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH summaries AS MATERIALIZED (
            SELECT %1$I::%5$s AS customer_key,
                   crm.customer_summary(%2$I::date, %3$I::double precision, $1, $2) AS s
            FROM %4$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL AND %3$I IS NOT NULL GROUP BY 1),
        fitted AS (
            SELECT crm.bgnbd_fit((s).frequency, (s).recency, (s).age) AS bg,
                   crm.gammagamma_fit((s).frequency, (s).monetary) AS gg
            FROM summaries WHERE (s).age > 0),
        scored AS (
            -- The models as scalar subqueries: evaluated once, not re-read for every customer.
            SELECT m.customer_key, m.s,
                   crm.p_alive((SELECT bg FROM fitted), (m.s).frequency, (m.s).recency, (m.s).age, $7) AS p_alive,
                   crm.expected_purchases((SELECT bg FROM fitted), (m.s).frequency, (m.s).recency, (m.s).age, $3, $7)
                     AS expected_purchases,
                   crm.expected_spend((SELECT gg FROM fitted), (m.s).frequency, (m.s).monetary, $7) AS expected_spend,
                   crm.clv((SELECT bg FROM fitted), (SELECT gg FROM fitted), (m.s).frequency, (m.s).recency, (m.s).age,
                           (m.s).monetary, months => $4, discount_rate => $5, margin => $6, time_unit => $2,
                           allow_unconverged => $7) AS clv
            FROM summaries m WHERE m.s IS NOT NULL)
        SELECT customer_key, (s).frequency, (s).recency, (s).age, (s).monetary, p_alive, expected_purchases,
               expected_spend, clv, crm.churn_risk(p_alive, expected_purchases)
        FROM scored $q$,
        customer_col, date_col, amount_col, orders, pg_catalog.pg_typeof(key_type)::text)
    USING cutoff, time_unit, span, months, discount_rate, margin, coalesce(allow_unconverged, false);
END
$$;
COMMENT ON FUNCTION crm.clv_analyze_typed(regclass, name, name, name, anyelement, date, text, integer, double precision, double precision, double precision, boolean) IS
'crm.clv_analyze with the customer key in its own type: pass key_type => NULL::text (or uuid, integer ...).';

CREATE FUNCTION crm.clv_analyze(
    orders regclass, customer_col name, date_col name, amount_col name,
    as_of date DEFAULT NULL, time_unit text DEFAULT 'week', months integer DEFAULT 12,
    discount_rate double precision DEFAULT 0.01, margin double precision DEFAULT 1,
    horizon double precision DEFAULT NULL, allow_unconverged boolean DEFAULT false)
RETURNS TABLE (
    customer_key bigint,
    frequency bigint,
    recency double precision,
    age double precision,
    monetary double precision,
    p_alive double precision,
    expected_purchases double precision,
    expected_spend double precision,
    clv double precision,
    churn_risk text)
LANGUAGE sql STABLE PARALLEL RESTRICTED
-- No SET clause, so the planner inlines this wrapper into the calling query instead of collecting its rows
-- in one more tuplestore (about 200 ms per 500,000 customers). The body stays safe under any search_path:
-- it names one schema-qualified function, and bigint is a keyword type (always pg_catalog.int8).
AS $$
    SELECT * FROM crm.clv_analyze_typed(orders, customer_col, date_col, amount_col, NULL::bigint, as_of, time_unit,
                                        months, discount_rate, margin, horizon, allow_unconverged)
$$;
COMMENT ON FUNCTION crm.clv_analyze(regclass, name, name, name, date, text, integer, double precision, double precision, double precision, boolean) IS
'One row per customer from an orders table (integer customer keys; crm.clv_analyze_typed for others): the summary '
'at as_of (default: the last order date), P(alive), expected purchases over horizon (default: the CLV horizon), '
'expected spend, CLV over months and the churn-risk tier, from BG/NBD and Gamma-Gamma fitted to the same customers.';

-- Model checking: fit on a calibration period, compare with a holdout period.
CREATE FUNCTION crm.clv_holdout_typed(
    orders regclass, customer_col name, date_col name, amount_col name, key_type anyelement,
    calibration_end date, holdout_end date, time_unit text DEFAULT 'week', model text DEFAULT 'bgnbd')
RETURNS TABLE (
    customer_key anyelement,
    frequency bigint,
    recency double precision,
    age double precision,
    predicted double precision,
    actual bigint)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    span double precision;
BEGIN
    IF orders IS NULL OR customer_col IS NULL OR date_col IS NULL OR amount_col IS NULL OR calibration_end IS NULL
       OR holdout_end IS NULL OR time_unit IS NULL OR model IS NULL THEN
        RAISE EXCEPTION 'clv_holdout: no argument may be NULL (but key_type)' USING ERRCODE = '22004';
    END IF;
    PERFORM crm._require_relation(orders, 'clv_holdout', 'orders');
    IF time_unit NOT IN ('day', 'week') THEN
        RAISE EXCEPTION 'clv_holdout: time_unit must be day or week, got %', time_unit USING ERRCODE = '22023';
    END IF;
    IF model NOT IN ('bgnbd', 'paretonbd') THEN
        RAISE EXCEPTION 'clv_holdout: model must be bgnbd or paretonbd, got %', model USING ERRCODE = '22023';
    END IF;
    IF holdout_end <= calibration_end THEN
        RAISE EXCEPTION 'clv_holdout: holdout_end (%) must be after calibration_end (%)', holdout_end, calibration_end
            USING ERRCODE = '22023';
    END IF;
    span := (holdout_end - calibration_end)::double precision / CASE time_unit WHEN 'week' THEN 7 ELSE 1 END;
    -- Customers acquired by calibration_end; their purchase days in (calibration_end, holdout_end].
    RETURN QUERY EXECUTE format($q$
        WITH per_customer AS MATERIALIZED (
            SELECT %1$I::%5$s AS customer_key,
                   crm.customer_summary(%2$I::date, %3$I::double precision, $1, $3) AS s,
                   count(DISTINCT %2$I::date) FILTER (WHERE %2$I::date > $1 AND %2$I::date <= $2) AS actual
            FROM %4$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL AND %3$I IS NOT NULL GROUP BY 1),
        fitted AS (
            SELECT crm.bgnbd_fit((s).frequency, (s).recency, (s).age) FILTER (WHERE $5 = 'bgnbd') AS bg,
                   crm.paretonbd_fit((s).frequency, (s).recency, (s).age) FILTER (WHERE $5 = 'paretonbd') AS pn
            FROM per_customer WHERE (s).age > 0)
        SELECT p.customer_key, (p.s).frequency, (p.s).recency, (p.s).age,
               CASE $5 WHEN 'bgnbd' THEN crm.expected_purchases(f.bg, (p.s).frequency, (p.s).recency, (p.s).age, $4)
                       ELSE crm.expected_purchases(f.pn, (p.s).frequency, (p.s).recency, (p.s).age, $4) END,
               p.actual
        FROM per_customer p, fitted f WHERE p.s IS NOT NULL $q$,
        customer_col, date_col, amount_col, orders, pg_catalog.pg_typeof(key_type)::text)
    USING calibration_end, holdout_end, time_unit, span, model;
END
$$;
COMMENT ON FUNCTION crm.clv_holdout_typed(regclass, name, name, name, anyelement, date, date, text, text) IS
'crm.clv_holdout with the customer key in its own type (key_type => NULL::text ...).';

CREATE FUNCTION crm.clv_holdout(
    orders regclass, customer_col name, date_col name, amount_col name,
    calibration_end date, holdout_end date, time_unit text DEFAULT 'week', model text DEFAULT 'bgnbd')
RETURNS TABLE (
    customer_key bigint,
    frequency bigint,
    recency double precision,
    age double precision,
    predicted double precision,
    actual bigint)
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM crm.clv_holdout_typed(orders, customer_col, date_col, amount_col, NULL::bigint, calibration_end,
                                        holdout_end, time_unit, model)
$$;
COMMENT ON FUNCTION crm.clv_holdout(regclass, name, name, name, date, date, text, text) IS
'Model checking: fits the purchase model (bgnbd or paretonbd) to the customers'' summaries at calibration_end and '
'returns, per customer acquired by then, the purchases it predicts for (calibration_end, holdout_end] and the purchase '
'days that actually happened. Aggregate it for the papers'' checks: totals, correlation, MAE, and predicted vs actual '
'by calibration frequency (the "conditional expectations" figure).';

-------------------------------------------------------------------------------
-- Market baskets: frequent itemsets and association rules (FP-growth)
-------------------------------------------------------------------------------

CREATE FUNCTION crm.frequent_itemsets(
    baskets regclass, basket_col name, item_col name, min_support double precision,
    max_len integer DEFAULT 10, min_count bigint DEFAULT NULL, max_itemsets bigint DEFAULT 1000000)
RETURNS TABLE (itemset bigint[], count bigint, support double precision)
AS 'MODULE_PATHNAME', 'crm_frequent_itemsets'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.frequent_itemsets(regclass, name, name, double precision, integer, bigint, bigint) IS
'Frequent itemsets (FP-growth) of a table of (basket, item) rows with integer items: every itemset of at most max_len '
'items found in at least min_support of the baskets (count >= ceil(min_support x baskets), as arules; min_count '
'raises it), with its count and support. Duplicate items in a basket count once; NULL items and baskets are ignored. '
'More than max_itemsets itemsets is an error (54000), as is more memory than crm.max_fit_memory (53200).';

CREATE FUNCTION crm.frequent_itemsets_typed(
    baskets regclass, basket_col name, item_col name, min_support double precision, key_type anyelement,
    max_len integer DEFAULT 10, min_count bigint DEFAULT NULL, max_itemsets bigint DEFAULT 1000000)
RETURNS TABLE (itemset anyarray, count bigint, support double precision)
AS 'MODULE_PATHNAME', 'crm_frequent_itemsets_typed'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.frequent_itemsets_typed(regclass, name, name, double precision, anyelement, integer, bigint, bigint) IS
'crm.frequent_itemsets with the items in their own type: key_type => NULL::text for text items (or NULL::integer ...).';

CREATE FUNCTION crm.association_rules(
    baskets regclass, basket_col name, item_col name, min_support double precision,
    min_confidence double precision DEFAULT 0.8, min_lift double precision DEFAULT 0,
    max_len integer DEFAULT 10, min_len integer DEFAULT 1, multi_item_consequents boolean DEFAULT false,
    antecedent_includes text[] DEFAULT NULL, consequent_among text[] DEFAULT NULL, max_rules bigint DEFAULT 1000000)
RETURNS TABLE (antecedent bigint[], consequent bigint[], count bigint, support double precision,
               confidence double precision, lift double precision, leverage double precision,
               conviction double precision, coverage double precision)
AS 'MODULE_PATHNAME', 'crm_association_rules'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.association_rules(regclass, name, name, double precision, double precision, double precision, integer, integer, boolean, text[], text[], bigint) IS
'Association rules antecedent => consequent of a table of (basket, item) rows with integer items, as R arules'' '
'apriori makes them: single-item consequents (multi_item_consequents for more), support, confidence (>= '
'min_confidence), lift (>= min_lift), leverage, conviction (Infinity when the confidence is 1) and coverage; rule '
'length between min_len and max_len; antecedent_includes: only rules whose antecedent holds all these items; '
'consequent_among: only rules whose consequent items are among these (items as text).';

CREATE FUNCTION crm.association_rules_typed(
    baskets regclass, basket_col name, item_col name, min_support double precision, key_type anyelement,
    min_confidence double precision DEFAULT 0.8, min_lift double precision DEFAULT 0,
    max_len integer DEFAULT 10, min_len integer DEFAULT 1, multi_item_consequents boolean DEFAULT false,
    antecedent_includes text[] DEFAULT NULL, consequent_among text[] DEFAULT NULL, max_rules bigint DEFAULT 1000000)
RETURNS TABLE (antecedent anyarray, consequent anyarray, count bigint, support double precision,
               confidence double precision, lift double precision, leverage double precision,
               conviction double precision, coverage double precision)
AS 'MODULE_PATHNAME', 'crm_association_rules_typed'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.association_rules_typed(regclass, name, name, double precision, anyelement, double precision, double precision, integer, integer, boolean, text[], text[], bigint) IS
'crm.association_rules with the items in their own type: key_type => NULL::text for text items.';

-- "Frequently bought together": items to add to a cart from a stored rule set.
CREATE FUNCTION crm.frequently_bought_together(rules regclass, cart anyarray, n integer DEFAULT 10)
RETURNS TABLE (item anyelement, confidence double precision, lift double precision, rank integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rules_type regtype;
BEGIN
    IF rules IS NULL OR n IS NULL THEN
        RAISE EXCEPTION 'frequently_bought_together: rules and n must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'frequently_bought_together: n must be at least 1, got %', n USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(rules, 'frequently_bought_together', 'rules');
    IF cart IS NULL THEN
        RETURN;
    END IF;
    SELECT a.atttypid::regtype INTO rules_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = rules AND a.attname = 'antecedent' AND a.attnum > 0 AND NOT a.attisdropped;
    IF rules_type IS NULL THEN
        RAISE EXCEPTION 'frequently_bought_together: % has no column antecedent (the columns of crm.association_rules)', rules
            USING ERRCODE = '42703';
    END IF;
    IF rules_type <> pg_catalog.pg_typeof(cart) THEN
        RAISE EXCEPTION 'frequently_bought_together: the cart is %, the rules'' items are %', pg_catalog.pg_typeof(cart), rules_type
            USING ERRCODE = '42804', HINT = format('Cast the cart: ARRAY[...]::%s.', rules_type);
    END IF;
    -- A rule matches when its antecedent is in the cart and its consequent is not wholly in it; an item
    -- scores by its best matching rule (confidence, then lift); ties by the item.
    RETURN QUERY EXECUTE format($q$
        SELECT b.item, b.confidence, b.lift, (row_number() OVER (ORDER BY b.confidence DESC, b.lift DESC, b.item))::integer
        FROM (SELECT DISTINCT ON (c.item) c.item, r.confidence, r.lift
              FROM %s r CROSS JOIN LATERAL unnest(r.consequent) AS c(item)
              WHERE r.antecedent <@ $1 AND NOT r.consequent <@ $1 AND NOT c.item = ANY ($1)
              ORDER BY c.item, r.confidence DESC, r.lift DESC) b
        ORDER BY 4 LIMIT $2 $q$, rules)
    USING cart, n;
END
$$;
COMMENT ON FUNCTION crm.frequently_bought_together(regclass, anyarray, integer) IS
'The top n items to add to a cart (an array of items) from a rules table with the columns of crm.association_rules '
'(antecedent, consequent, confidence, lift): rules whose antecedent is in the cart, each item ranked by its best rule''s '
'confidence, then lift, then the item itself.';

-- The aggregate form: rules per group (store, region, month ...), composable with any query.
CREATE TYPE crm.association_rule AS (
    antecedent bigint[],
    consequent bigint[],
    count bigint,
    support double precision,
    confidence double precision,
    lift double precision,
    leverage double precision,
    conviction double precision,
    coverage double precision);
COMMENT ON TYPE crm.association_rule IS
'One association rule antecedent => consequent with its count and measures (as crm.association_rules returns them).';

CREATE FUNCTION crm._basket_rules_transfn(internal, bigint, bigint, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_transfn(internal, bigint, bigint, double precision, double precision)
IS 'Transition function of crm.association_rules_agg over (basket, item) rows (internal).';
CREATE FUNCTION crm._basket_rules_array_transfn(internal, bigint[], double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_array_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_array_transfn(internal, bigint[], double precision, double precision)
IS 'Transition function of crm.association_rules_agg over item arrays, one basket per row (internal).';
CREATE FUNCTION crm._basket_rules_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_combine(internal, internal) IS 'Combine function of crm.association_rules_agg (internal).';
CREATE FUNCTION crm._basket_rules_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_basket_rules_serial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._basket_rules_serial(internal) IS 'Serialises the crm.association_rules_agg state (internal).';
CREATE FUNCTION crm._basket_rules_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_deserial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._basket_rules_deserial(bytea, internal) IS 'Reads a serialised crm.association_rules_agg state (internal).';
CREATE FUNCTION crm._basket_rules_merge_bytea(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';
CREATE FUNCTION crm._basket_rules_final(internal)
RETURNS crm.association_rule[] AS 'MODULE_PATHNAME', 'crm_basket_rules_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm._basket_rules_final(internal) IS 'Final function of crm.association_rules_agg: mines the group (internal).';

CREATE AGGREGATE crm.association_rules_agg(basket bigint, item bigint, min_support double precision,
                                           min_confidence double precision) (
    SFUNC = crm._basket_rules_transfn, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg(bigint, bigint, double precision, double precision) IS
'The association rules of the (basket, item) rows of a group, as crm.association_rules makes them (single-item '
'consequents), as an array of crm.association_rule: SELECT store, (unnest(crm.association_rules_agg(...))).* ... '
'GROUP BY store. NULL baskets and items are ignored.';
CREATE AGGREGATE crm.association_rules_agg(items bigint[], min_support double precision,
                                           min_confidence double precision) (
    SFUNC = crm._basket_rules_array_transfn, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg(bigint[], double precision, double precision) IS
'crm.association_rules_agg over item arrays, one basket per row (NULL elements ignored; an array without a '
'non-NULL item is no basket, as in the row form).';
CREATE AGGREGATE crm.association_rules_agg_partial(basket bigint, item bigint, min_support double precision,
                                                   min_confidence double precision) (
    SFUNC = crm._basket_rules_transfn, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg_partial(bigint, bigint, double precision, double precision) IS
'The state of crm.association_rules_agg as bytea (per shard); combine with crm.association_rules_agg_combine. A '
'basket split across shards is merged by its key.';
CREATE AGGREGATE crm.association_rules_agg_combine(partial_state bytea) (
    SFUNC = crm._basket_rules_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg_combine(bytea) IS
'Combines states from crm.association_rules_agg_partial into the result of crm.association_rules_agg.';

-- Rules as a recommendation source: each customer's own items are the cart.
CREATE FUNCTION crm.rules_recommend_batch(
    rules regclass, orders regclass, customer_col name, item_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, date_col name DEFAULT NULL,
    since interval DEFAULT NULL)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF rules IS NULL OR orders IS NULL OR customer_col IS NULL OR item_col IS NULL OR n IS NULL THEN
        RAISE EXCEPTION 'rules_recommend_batch: rules, orders, customer_col, item_col and n must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'rules_recommend_batch: n must be at least 1, got %', n USING ERRCODE = '22023';
    END IF;
    IF since IS NOT NULL AND date_col IS NULL THEN
        RAISE EXCEPTION 'rules_recommend_batch: since needs date_col' USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(rules, 'rules_recommend_batch', 'rules');
    PERFORM crm._require_relation(orders, 'rules_recommend_batch', 'orders');
    -- A customer's cart: the items they bought (within since of their last order, when given). An item
    -- scores by its best rule whose antecedent is in the cart (confidence, then lift); items the
    -- customer has are never recommended. Cost: rules x customers antecedent checks.
    RETURN QUERY EXECUTE format($q$
        WITH lines AS (
            SELECT %1$I::bigint AS user_id, %2$I::bigint AS item %3$s
            FROM %4$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL AND ($1 IS NULL OR %1$I::bigint = ANY ($1))),
        carts AS (
            SELECT l.user_id, pg_catalog.array_agg(DISTINCT l.item) AS cart FROM lines l %5$s GROUP BY l.user_id),
        candidates AS (
            SELECT DISTINCT ON (c.user_id, i.item) c.user_id, i.item, r.confidence, r.lift, r.antecedent
            FROM carts c JOIN %6$s r ON r.antecedent <@ c.cart
            CROSS JOIN LATERAL unnest(r.consequent) AS i(item)
            WHERE NOT i.item = ANY (c.cart)
            ORDER BY c.user_id, i.item, r.confidence DESC, r.lift DESC),
        ranked AS (
            SELECT c.*, row_number() OVER (PARTITION BY c.user_id ORDER BY c.confidence DESC, c.lift DESC, c.item) AS rnk
            FROM candidates c)
        SELECT user_id, rnk::integer, item, confidence,
               'rule: ' || CASE WHEN cardinality(antecedent) = 0 THEN 'popular' ELSE antecedent::text END
               || ' => ' || item
        FROM ranked WHERE rnk <= $2 ORDER BY user_id, rnk $q$,
        customer_col, item_col,
        CASE WHEN date_col IS NULL THEN '' ELSE format(', %I::timestamptz AS at', date_col) END,
        orders,
        CASE WHEN since IS NULL THEN ''
             ELSE 'WHERE l.at >= (SELECT max(m.at) FROM lines m WHERE m.user_id = l.user_id) - $3' END,
        rules)
    USING users, n, since;
END
$$;
COMMENT ON FUNCTION crm.rules_recommend_batch(regclass, regclass, name, name, bigint[], integer, name, interval) IS
'Top-n items per customer from a stored rule set (the columns of crm.association_rules): each customer''s items (those '
'bought within since of their last order, when date_col and since are given) are the cart; an item scores by the '
'confidence of its best matching rule; the reason names the rule. Returns the recommenders'' shape (user_id, rank, '
'item_id, score, reason); items the customer has are left out.';

-------------------------------------------------------------------------------
-- Survey KPIs: Net Promoter Score and CSAT as parallel, shardable aggregates
-- (docs/kpis.md). The state is one count per possible answer.
-------------------------------------------------------------------------------

CREATE TYPE crm.nps_result AS (
    responses bigint,
    promoters bigint,
    passives bigint,
    detractors bigint,
    nps double precision,
    ci_low double precision,
    ci_high double precision
);
COMMENT ON TYPE crm.nps_result IS 'Result of crm.nps: counts of promoters (9-10), passives (7-8) and detractors (0-6), NPS in points (-100..100) and its normal interval.';

CREATE TYPE crm.csat_result AS (
    responses bigint,
    satisfied bigint,
    csat double precision,
    ci_low double precision,
    ci_high double precision
);
COMMENT ON TYPE crm.csat_result IS 'Result of crm.csat: answers, satisfied answers (4 or 5), CSAT in percent and its Wilson interval.';

CREATE FUNCTION crm._nps_transfn(internal, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_nps_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._nps_transfn(internal, double precision)
IS 'Transition function of crm.nps (internal).';

CREATE FUNCTION crm._nps_transfn(internal, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_nps_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._nps_transfn(internal, double precision, double precision)
IS 'Transition function of crm.nps with a confidence level (internal).';

CREATE FUNCTION crm._csat_transfn(internal, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_csat_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._csat_transfn(internal, double precision)
IS 'Transition function of crm.csat (internal).';

CREATE FUNCTION crm._csat_transfn(internal, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_csat_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._csat_transfn(internal, double precision, double precision)
IS 'Transition function of crm.csat with a confidence level (internal).';

CREATE FUNCTION crm._survey_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_survey_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._survey_combine(internal, internal)
IS 'Combine function of crm.nps and crm.csat for parallel aggregation (internal).';

CREATE FUNCTION crm._survey_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_survey_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._survey_serial(internal)
IS 'Serialises the crm.nps / crm.csat state to a versioned, portable byte format (internal).';

CREATE FUNCTION crm._survey_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_survey_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._survey_deserial(bytea, internal)
IS 'Reads a serialised crm.nps / crm.csat state (internal).';

CREATE FUNCTION crm._survey_merge_bytea(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_survey_merge_bytea'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._survey_merge_bytea(internal, bytea)
IS 'Merges a serialised crm.nps / crm.csat partial state (internal).';

CREATE FUNCTION crm._nps_final(internal)
RETURNS crm.nps_result AS 'MODULE_PATHNAME', 'crm_nps_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._nps_final(internal)
IS 'Final function of crm.nps (internal).';

CREATE FUNCTION crm._csat_final(internal)
RETURNS crm.csat_result AS 'MODULE_PATHNAME', 'crm_csat_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._csat_final(internal)
IS 'Final function of crm.csat (internal).';

CREATE AGGREGATE crm.nps(score double precision) (
    SFUNC = crm._nps_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._nps_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.nps(double precision) IS
'Net Promoter Score of 0-10 answers: 100 x (share of 9-10 minus share of 0-6), with the counts and a 95% normal interval (variance of a difference of two multinomial shares). NULL answers are skipped; answers that are not whole numbers 0-10 are errors (22023). No rows gives NULL; one answer gives a NULL interval.';

CREATE AGGREGATE crm.nps(score double precision, confidence double precision) (
    SFUNC = crm._nps_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._nps_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.nps(double precision, double precision) IS
'crm.nps with the interval at another confidence level (0 < confidence < 1, the same on every row).';

CREATE AGGREGATE crm.csat(score double precision) (
    SFUNC = crm._csat_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._csat_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.csat(double precision) IS
'Customer satisfaction (CSAT) of 1-5 answers: percent of 4 and 5 answers, with a 95% Wilson interval. NULL answers are skipped; answers that are not whole numbers 1-5 are errors (22023). No rows gives NULL.';

CREATE AGGREGATE crm.csat(score double precision, confidence double precision) (
    SFUNC = crm._csat_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._csat_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.csat(double precision, double precision) IS
'crm.csat with the interval at another confidence level (0 < confidence < 1, the same on every row).';

CREATE AGGREGATE crm.nps_partial(score double precision) (
    SFUNC = crm._nps_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._survey_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.nps_partial(double precision) IS
'The state of crm.nps as portable, versioned bytes, to combine elsewhere with crm.nps_combine (scale-out over shards).';

CREATE AGGREGATE crm.nps_partial(score double precision, confidence double precision) (
    SFUNC = crm._nps_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._survey_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.nps_partial(double precision, double precision) IS
'The state of crm.nps as portable, versioned bytes, to combine elsewhere with crm.nps_combine (scale-out over shards).';

CREATE AGGREGATE crm.nps_combine(partial_state bytea) (
    SFUNC = crm._survey_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._nps_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.nps_combine(bytea) IS
'Combines states from crm.nps_partial (for example one per shard) into the result of crm.nps. NULL states are skipped; an NPS state given to the CSAT combine is an error.';

CREATE AGGREGATE crm.csat_partial(score double precision) (
    SFUNC = crm._csat_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._survey_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.csat_partial(double precision) IS
'The state of crm.csat as portable, versioned bytes, to combine elsewhere with crm.csat_combine (scale-out over shards).';

CREATE AGGREGATE crm.csat_partial(score double precision, confidence double precision) (
    SFUNC = crm._csat_transfn, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._survey_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.csat_partial(double precision, double precision) IS
'The state of crm.csat as portable, versioned bytes, to combine elsewhere with crm.csat_combine (scale-out over shards).';

CREATE AGGREGATE crm.csat_combine(partial_state bytea) (
    SFUNC = crm._survey_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._survey_combine, SERIALFUNC = crm._survey_serial, DESERIALFUNC = crm._survey_deserial,
    FINALFUNC = crm._csat_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.csat_combine(bytea) IS
'Combines states from crm.csat_partial (for example one per shard) into the result of crm.csat. NULL states are skipped; an NPS state given to the CSAT combine is an error.';

-------------------------------------------------------------------------------
-- Cohort retention in long form (docs/kpis.md): one row per cohort and period.
-------------------------------------------------------------------------------

CREATE FUNCTION crm._cohort_retention_scan(orders regclass, customer_col name, date_col name, amount_col name,
                                          period text)
RETURNS TABLE (cohort date, period_number integer, customers bigint, active bigint,
               retention double precision, revenue numeric, revenue_retention double precision)
AS 'MODULE_PATHNAME', 'crm_cohort_retention_scan'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._cohort_retention_scan(regclass, name, name, name, text) IS
'The rows of crm.cohort_retention from a direct read of a plain orders table, or no rows when that read would not '
'be provably the same as its query (internal).';

CREATE FUNCTION crm.cohort_retention(
    orders regclass,
    customer_col name,
    date_col name,
    amount_col name DEFAULT NULL,
    period text DEFAULT 'month')
RETURNS TABLE (cohort date, period_number integer, customers bigint, active bigint,
               retention double precision, revenue numeric, revenue_retention double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF orders IS NULL OR customer_col IS NULL OR date_col IS NULL OR period IS NULL THEN
        RAISE EXCEPTION 'cohort_retention: orders, customer_col, date_col and period must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF period NOT IN ('week', 'month', 'quarter') THEN
        RAISE EXCEPTION 'cohort_retention: period must be week, month or quarter, got "%"', period
            USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(orders, 'cohort_retention', 'orders');
    -- A plain table with integer customer keys is read directly where that provably gives the rows of the
    -- query below (docs/kpis.md); no rows back means it did not apply, or the table has no orders.
    RETURN QUERY SELECT * FROM crm._cohort_retention_scan(orders, customer_col, date_col, amount_col, period);
    IF FOUND THEN
        RETURN;
    END IF;
    -- Periods are cut with date_trunc: ISO weeks start on Monday, months and quarters on the 1st, and a
    -- timestamptz is cut in the session's TimeZone. A customer's cohort is the period of their first
    -- order; every period from the cohort's first to the last period in the data gets a row, so a
    -- period nobody came back in shows 0 rather than being missing from the triangle.
    RETURN QUERY EXECUTE format($q$
        WITH o AS (
            SELECT %1$I AS customer, date_trunc($1, %2$I)::date AS p, %3$s AS amount
            FROM %4$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL),
        firsts AS (SELECT customer, min(p) AS cohort FROM o GROUP BY customer),
        sizes AS (SELECT f.cohort, count(*) AS customers FROM firsts f GROUP BY f.cohort),
        act AS (
            SELECT f.cohort, o.p, count(DISTINCT o.customer) AS active, sum(o.amount)::numeric AS revenue
            FROM o JOIN firsts f ON f.customer = o.customer GROUP BY f.cohort, o.p),
        grid AS (
            SELECT s.cohort, s.customers, g::date AS p
            -- timestamp, not timestamptz: a local midnight that does not exist (daylight saving starting at
            -- 00:00 on the 1st) would shift every step to 01:00 and drop the last period.
            FROM sizes s, generate_series(s.cohort::timestamp, (SELECT max(p) FROM o)::timestamp,
                                        CASE $1 WHEN 'week' THEN interval '7 days' WHEN 'month' THEN interval '1 month'
                                                ELSE interval '3 months' END) g)
        SELECT g.cohort,
               (CASE $1 WHEN 'week' THEN (g.p - g.cohort) / 7
                        ELSE ((extract(year FROM g.p) * 12 + extract(month FROM g.p))
                              - (extract(year FROM g.cohort) * 12 + extract(month FROM g.cohort)))::integer
                             / CASE $1 WHEN 'quarter' THEN 3 ELSE 1 END END)::integer,
               g.customers, coalesce(a.active, 0), coalesce(a.active, 0)::float8 / g.customers,
               CASE WHEN %5$L THEN coalesce(a.revenue, 0) END,
               CASE WHEN %5$L THEN coalesce(a.revenue, 0)::float8
                                   / nullif(first_value(coalesce(a.revenue, 0)) OVER w, 0)::float8 END
        FROM grid g LEFT JOIN act a ON a.cohort = g.cohort AND a.p = g.p
        WINDOW w AS (PARTITION BY g.cohort ORDER BY g.p)
        ORDER BY g.cohort, g.p$q$,
        customer_col, date_col, CASE WHEN amount_col IS NULL THEN 'NULL::numeric' ELSE format('%I', amount_col) END,
        orders, amount_col IS NOT NULL)
    USING period;
END
$$;
COMMENT ON FUNCTION crm.cohort_retention(regclass, name, name, name, text) IS
'Cohort retention in long form: customers grouped by the period (week, month or quarter) of their first order; for '
'each cohort and each later period (period_number 0 = the first) the cohort size, the customers who ordered, retention '
'= active / customers, revenue and revenue retention (revenue / period-0 revenue; NULL without amount_col). Periods '
'start on Monday (ISO weeks) or the 1st; timestamptz columns are cut in the session TimeZone. Any key type.';

-------------------------------------------------------------------------------
-- Customer flow and rates (docs/kpis.md): who is active, new, returning,
-- reactivated and churned, per period and over a window.
-------------------------------------------------------------------------------

CREATE FUNCTION crm.customer_flow(
    orders regclass,
    customer_col name,
    date_col name,
    period text DEFAULT 'month',
    inactive_periods integer DEFAULT 1)
RETURNS TABLE (period_start date, active_customers bigint, new_customers bigint, returning_customers bigint,
               reactivated_customers bigint, churned_customers bigint, customer_base bigint,
               churn_rate double precision, retention_rate double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF orders IS NULL OR customer_col IS NULL OR date_col IS NULL OR period IS NULL OR inactive_periods IS NULL THEN
        RAISE EXCEPTION 'customer_flow: orders, customer_col, date_col, period and inactive_periods must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF period NOT IN ('week', 'month', 'quarter') THEN
        RAISE EXCEPTION 'customer_flow: period must be week, month or quarter, got "%"', period USING ERRCODE = '22023';
    END IF;
    IF inactive_periods < 1 OR inactive_periods > 10000 THEN
        RAISE EXCEPTION 'customer_flow: inactive_periods must be between 1 and 10000, got %', inactive_periods
            USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(orders, 'customer_flow', 'orders');
    -- Periods are numbered 1.. from the first period in the data. For each customer and period they ordered
    -- in, the previous and next such period decide the flow: no previous one = new; a gap of at most
    -- inactive_periods = returning; a longer gap = reactivated (they had churned). A customer churns
    -- inactive_periods after an order period not followed by another within that many periods. The base
    -- at the end of a period = customers whose last order is less than inactive_periods periods old, so
    -- base(p) = base(p - 1) + new + reactivated - churned.
    RETURN QUERY EXECUTE format($q$
        WITH o AS (
            SELECT DISTINCT %1$I AS customer, date_trunc($1, %2$I)::date AS p
            FROM %3$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL),
        periods AS (
            SELECT g::date AS p, s.n::integer AS n
            FROM (SELECT min(p) AS lo, max(p) AS hi FROM o) b,
                 generate_series(b.lo, b.hi, CASE $1 WHEN 'week' THEN interval '7 days'
                                                     WHEN 'month' THEN interval '1 month'
                                                     ELSE interval '3 months' END) WITH ORDINALITY AS s(g, n)),
        seq AS (
            SELECT ps.n, lag(ps.n) OVER w AS prev_n, lead(ps.n) OVER w AS next_n
            FROM o JOIN periods ps ON ps.p = o.p
            WINDOW w AS (PARTITION BY o.customer ORDER BY ps.n)),
        flow AS (
            SELECT n, count(*) AS active, count(*) FILTER (WHERE prev_n IS NULL) AS new_c,
                   count(*) FILTER (WHERE n - prev_n <= $2) AS returning_c,
                   count(*) FILTER (WHERE n - prev_n > $2) AS reactivated_c
            FROM seq GROUP BY n),
        churn AS (
            SELECT n + $2 AS n, count(*) AS churned FROM seq
            WHERE next_n IS NULL OR next_n > n + $2 GROUP BY 1),
        grid AS (
            SELECT ps.p, ps.n, coalesce(f.active, 0) AS active, coalesce(f.new_c, 0) AS new_c,
                   coalesce(f.returning_c, 0) AS returning_c, coalesce(f.reactivated_c, 0) AS reactivated_c,
                   coalesce(c.churned, 0) AS churned
            FROM periods ps LEFT JOIN flow f ON f.n = ps.n LEFT JOIN churn c ON c.n = ps.n),
        based AS (
            SELECT g.*, sum(g.new_c + g.reactivated_c - g.churned) OVER (ORDER BY g.n)::bigint AS base FROM grid g)
        SELECT p, active, new_c, returning_c, reactivated_c, churned, base,
               churned::float8 / nullif(lag(base) OVER (ORDER BY n), 0),
               1 - churned::float8 / nullif(lag(base) OVER (ORDER BY n), 0)
        FROM based ORDER BY n$q$,
        customer_col, date_col, orders)
    USING period, inactive_periods;
END
$$;
COMMENT ON FUNCTION crm.customer_flow(regclass, name, name, text, integer) IS
'Customer flow per period (week, month or quarter), every period from the first to the last in the data: customers '
'active (ordered), new (first order), returning (ordered within inactive_periods of their previous order), reactivated '
'(after a longer gap), churned (their last order is now inactive_periods periods old), the customer base at the end '
'of the period (base = previous base + new + reactivated - churned), churn rate = churned / previous base and '
'retention rate = 1 - churn rate. Periods as in crm.cohort_retention. Any key type.';

CREATE FUNCTION crm.customer_rates(
    orders regclass,
    customer_col name,
    date_col name,
    window_start date,
    window_end date,
    inactivity interval DEFAULT '90 days',
    churn_model crm.bgnbd_model DEFAULT NULL,
    alive_below double precision DEFAULT 0.5,
    time_unit text DEFAULT 'week')
RETURNS TABLE (customers_at_start bigint, active_customers bigint, new_customers bigint, repeat_customers bigint,
               repeat_purchase_rate double precision, retained bigint, churned bigint,
               retention_rate double precision, churn_rate double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    alive_at_start text;
    alive_at_end text;
BEGIN
    IF orders IS NULL OR customer_col IS NULL OR date_col IS NULL OR window_start IS NULL OR window_end IS NULL THEN
        RAISE EXCEPTION 'customer_rates: orders, customer_col, date_col, window_start and window_end must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF window_end <= window_start OR NOT isfinite(window_start) OR NOT isfinite(window_end) THEN
        RAISE EXCEPTION 'customer_rates: the window must be finite with window_start < window_end, got [%, %)',
            window_start, window_end USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(orders, 'customer_rates', 'orders');
    IF churn_model IS NULL THEN
        IF inactivity IS NULL THEN
            RAISE EXCEPTION 'customer_rates: inactivity must not be NULL without a churn_model' USING ERRCODE = '22004';
        END IF;
        IF inactivity <= interval '0' OR NOT isfinite(window_start - inactivity) THEN
            RAISE EXCEPTION 'customer_rates: inactivity must be a positive interval, got %', inactivity
                USING ERRCODE = '22023';
        END IF;
        -- Alive at day d: an order before d, the last one on or after d - inactivity.
        alive_at_start := 'last_before_start >= $1 - $3';
        alive_at_end := 'last_before_end >= $2 - $3';
    ELSE
        IF alive_below IS NULL OR NOT (alive_below > 0 AND alive_below < 1) THEN
            RAISE EXCEPTION 'customer_rates: alive_below must be between 0 and 1, got %', alive_below
                USING ERRCODE = '22023';
        END IF;
        IF time_unit IS NULL OR time_unit NOT IN ('day', 'week') THEN
            RAISE EXCEPTION 'customer_rates: time_unit must be day or week, got "%"', time_unit USING ERRCODE = '22023';
        END IF;
        -- Alive at day d: P(alive) of the customer's summary of the orders before d at least alive_below.
        alive_at_start := 'crm.p_alive($4, (s_start).frequency, (s_start).recency, (s_start).age) >= $5';
        alive_at_end := 'crm.p_alive($4, (s_end).frequency, (s_end).recency, (s_end).age) >= $5';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH o AS (
            SELECT %1$I AS customer, %2$I::date AS day FROM %3$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL),
        per AS (
            SELECT customer, min(day) AS first_day,
                   max(day) FILTER (WHERE day < $1) AS last_before_start,
                   max(day) FILTER (WHERE day < $2) AS last_before_end,
                   count(*) FILTER (WHERE day >= $1 AND day < $2) AS in_window,
                   CASE WHEN $7 THEN crm.customer_summary(day, 0::double precision, $1 - 1, $6) END AS s_start,
                   CASE WHEN $7 THEN crm.customer_summary(day, 0::double precision, $2 - 1, $6) END AS s_end
            FROM o GROUP BY customer),
        flags AS (
            SELECT first_day, in_window, coalesce(%4$s, false) AS at_start, coalesce(%5$s, false) AS at_end FROM per),
        counts AS (
            SELECT count(*) FILTER (WHERE at_start) AS at_start,
                   count(*) FILTER (WHERE in_window > 0) AS active,
                   count(*) FILTER (WHERE first_day >= $1 AND first_day < $2) AS new_c,
                   count(*) FILTER (WHERE in_window >= 2) AS repeat_c,
                   count(*) FILTER (WHERE at_start AND at_end) AS retained
            FROM flags)
        SELECT at_start, active, new_c, repeat_c, repeat_c::float8 / nullif(active, 0),
               retained, at_start - retained, retained::float8 / nullif(at_start, 0),
               (at_start - retained)::float8 / nullif(at_start, 0)
        FROM counts$q$,
        customer_col, date_col, orders, alive_at_start, alive_at_end)
    USING window_start, window_end, inactivity, churn_model, alive_below, coalesce(time_unit, 'week'),
          NOT (churn_model IS NULL);  -- a model with a NULL field is not IS NOT NULL
END
$$;
COMMENT ON FUNCTION crm.customer_rates(regclass, name, name, date, date, interval, crm.bgnbd_model, double precision, text) IS
'Repeat-purchase, retention and churn rates over the window [window_start, window_end): active customers (an order '
'in the window), new customers (first order in it), repeat customers (two or more orders in it) and the repeat-purchase '
'rate = repeat / active; the customers alive at window_start, those of them still alive at window_end (retained), '
'churned = the rest, retention and churn rates. Alive at day d: the last order before d is no older than inactivity '
'(default), or, with churn_model, P(alive) of the orders before d is at least alive_below (BG/NBD, time_unit day or '
'week). timestamptz orders are counted by day in the session TimeZone.';

-------------------------------------------------------------------------------
-- Customer acquisition cost, CLV:CAC and payback (docs/kpis.md).
-------------------------------------------------------------------------------

CREATE FUNCTION crm.acquisition_cost(
    spend regclass,
    spend_date_col name,
    spend_amount_col name,
    orders regclass,
    customer_col name,
    order_date_col name,
    amount_col name DEFAULT NULL,
    period text DEFAULT 'month',
    spend_channel_col name DEFAULT NULL,
    order_channel_col name DEFAULT NULL,
    margin double precision DEFAULT 1,
    with_clv boolean DEFAULT true,
    clv_months integer DEFAULT 12,
    allow_unconverged boolean DEFAULT false)
RETURNS TABLE (period_start date, channel text, marketing_spend numeric, new_customers bigint, cac numeric,
               revenue numeric, avg_value double precision, clv_to_cac double precision, payback_periods integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    negative bigint;
    key_type text;
    value_sql text := 'NULL::double precision';
BEGIN
    IF spend IS NULL OR spend_date_col IS NULL OR spend_amount_col IS NULL OR orders IS NULL OR customer_col IS NULL
       OR order_date_col IS NULL OR period IS NULL OR margin IS NULL OR with_clv IS NULL OR clv_months IS NULL THEN
        RAISE EXCEPTION 'acquisition_cost: the tables, their columns, period, margin, with_clv and clv_months must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF period NOT IN ('week', 'month', 'quarter') THEN
        RAISE EXCEPTION 'acquisition_cost: period must be week, month or quarter, got "%"', period USING ERRCODE = '22023';
    END IF;
    IF (spend_channel_col IS NULL) <> (order_channel_col IS NULL) THEN
        RAISE EXCEPTION 'acquisition_cost: give both spend_channel_col and order_channel_col, or neither'
            USING ERRCODE = '22023';
    END IF;
    IF NOT (margin > 0 AND margin <= 1) THEN
        RAISE EXCEPTION 'acquisition_cost: margin must be in (0, 1], got %', margin USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(spend, 'acquisition_cost', 'spend');
    PERFORM crm._require_relation(orders, 'acquisition_cost', 'orders');
    EXECUTE format('SELECT count(*) FROM %s WHERE %I < 0', spend, spend_amount_col) INTO negative;
    IF negative > 0 THEN
        RAISE EXCEPTION 'acquisition_cost: % spend rows are negative', negative
            USING ERRCODE = '22023', HINT = 'Spend is money paid out; book refunds and credits as lower spend of their period.';
    END IF;
    IF amount_col IS NOT NULL AND with_clv THEN
        -- Expected value from the CLV models, joined back on the customer key in the key's own type.
        SELECT format_type(a.atttypid, a.atttypmod) INTO key_type FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = orders AND a.attname = customer_col AND a.attnum > 0 AND NOT a.attisdropped;
        IF key_type IS NULL THEN
            RAISE EXCEPTION 'acquisition_cost: column "%" of relation % does not exist', customer_col, orders
                USING ERRCODE = '42703';
        END IF;
        value_sql := 'v.clv';
    END IF;
    -- A customer is acquired in the period of their first order, through the channel of that order (the
    -- lowest channel on a tie). Spend and new customers meet per period (and channel); a period with
    -- spend and no new customers has a NULL CAC, one with new customers and no spend a CAC of 0.
    RETURN QUERY EXECUTE format($q$
        WITH o AS (
            SELECT %1$I AS customer, %2$I AS ordered, date_trunc($1, %2$I)::date AS p, %3$s AS amount,
                   %4$s AS channel
            FROM %5$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL),
        firsts AS (
            SELECT DISTINCT ON (customer) customer, p, channel FROM o ORDER BY customer, ordered, channel),
        clv AS MATERIALIZED (
            SELECT customer_key, clv FROM crm.clv_analyze_typed(%5$L::regclass, %1$L::name, %2$L::name, %6$L::name, NULL::%7$s,
                                                                months => $3, margin => $2, allow_unconverged => $4)
            WHERE %15$L),
        cohorts AS (
            SELECT f.p, coalesce(f.channel, '') AS ch, count(*) AS n, coalesce(sum(%9$s), 0) AS future
            FROM firsts f LEFT JOIN clv v ON v.customer_key = f.customer GROUP BY 1, 2),  -- a join: clv has no index
        spent AS (
            SELECT date_trunc($1, %10$I)::date AS p, coalesce(%11$s, '') AS ch, sum(%12$I)::numeric AS s
            FROM %13$s WHERE %10$I IS NOT NULL AND %12$I IS NOT NULL GROUP BY 1, 2),
        cost AS (
            SELECT coalesce(c.p, s.p) AS p, coalesce(c.ch, s.ch) AS ch, coalesce(s.s, 0) AS s,
                   coalesce(c.n, 0) AS n, c.future
            FROM cohorts c FULL JOIN spent s ON s.p = c.p AND s.ch = c.ch),
        earned AS (
            SELECT f.p, coalesce(f.channel, '') AS ch, o.p AS op, sum(o.amount)::numeric AS r
            FROM o JOIN firsts f ON f.customer = o.customer GROUP BY 1, 2, 3),
        cumulative AS (
            SELECT e.p, e.ch, e.op, sum(e.r) OVER (PARTITION BY e.p, e.ch ORDER BY e.op) AS total FROM earned e),
        payback AS (
            SELECT u.p, u.ch, min(u.op) AS op
            FROM cumulative u JOIN cost k ON k.p = u.p AND k.ch = u.ch
            WHERE k.n > 0 AND u.total * $2 >= k.s GROUP BY 1, 2),  -- revenue per customer >= CAC
        revenue AS (SELECT e.p, e.ch, sum(e.r) AS r FROM earned e GROUP BY 1, 2)
        SELECT k.p, CASE WHEN %14$L THEN k.ch END, k.s, k.n, round(k.s / nullif(k.n, 0), 2),
               CASE WHEN %8$L THEN coalesce(r.r, 0) END,
               CASE WHEN %8$L THEN (coalesce(r.r, 0)::float8 * $2 + k.future) / nullif(k.n, 0) END,
               CASE WHEN %8$L THEN ((coalesce(r.r, 0)::float8 * $2 + k.future) / nullif(k.n, 0))
                                   / nullif(k.s / nullif(k.n, 0), 0)::float8 END,
               CASE WHEN b.op IS NULL THEN NULL WHEN $1 = 'week' THEN (b.op - k.p) / 7
                    ELSE (((extract(year FROM b.op) * 12 + extract(month FROM b.op))
                          - (extract(year FROM k.p) * 12 + extract(month FROM k.p)))::integer
                          / CASE $1 WHEN 'quarter' THEN 3 ELSE 1 END) END::integer
        FROM cost k LEFT JOIN revenue r ON r.p = k.p AND r.ch = k.ch LEFT JOIN payback b ON b.p = k.p AND b.ch = k.ch
        ORDER BY k.p, k.ch$q$,
        customer_col, order_date_col,
        CASE WHEN amount_col IS NULL THEN 'NULL::numeric' ELSE format('%I', amount_col) END,
        CASE WHEN order_channel_col IS NULL THEN 'NULL::text' ELSE format('%I::text', order_channel_col) END,
        orders, amount_col, coalesce(key_type, 'bigint'), amount_col IS NOT NULL, value_sql,
        spend_date_col,
        CASE WHEN spend_channel_col IS NULL THEN 'NULL::text' ELSE format('%I::text', spend_channel_col) END,
        spend_amount_col, spend, spend_channel_col IS NOT NULL, amount_col IS NOT NULL AND with_clv)
    USING period, margin, clv_months, coalesce(allow_unconverged, false);
END
$$;
COMMENT ON FUNCTION crm.acquisition_cost(regclass, name, name, regclass, name, name, name, text, name, name, double precision, boolean, integer, boolean) IS
'Customer acquisition cost per period (week, month or quarter) and, with spend_channel_col and order_channel_col, per '
'channel: marketing spend, new customers (first order in the period, through the channel of that order), CAC = spend / new '
'customers; with amount_col also the cohort''s revenue to date, avg_value = (revenue x margin + CLV from the BG/NBD and '
'Gamma-Gamma models over clv_months, unless with_clv is false) per new customer, the CLV:CAC ratio and the payback period (periods after the '
'first until the cohort''s cumulative revenue x margin per customer reaches the CAC; NULL when not yet). Negative spend '
'is an error.';

-------------------------------------------------------------------------------
-- Predicting customer behaviour: decision trees (CART) and random forests
-- (docs/trees.md)
-------------------------------------------------------------------------------

CREATE TYPE crm.tree_options AS (
    max_depth integer,
    min_samples_split integer,
    min_samples_leaf integer,
    min_impurity_decrease double precision,
    criterion text,
    class_weight_true double precision,
    class_weight_false double precision,
    n_trees integer,
    max_features integer,
    bootstrap boolean,
    seed bigint,
    feature_names text[]);
COMMENT ON TYPE crm.tree_options IS
'Options of crm.tree_fit and crm.regression_tree_fit, built by the function crm.tree_options(...) (aggregates take '
'no named arguments).';

CREATE FUNCTION crm.tree_options(
    max_depth integer DEFAULT NULL,
    min_samples_split integer DEFAULT 2,
    min_samples_leaf integer DEFAULT 1,
    min_impurity_decrease double precision DEFAULT 0,
    criterion text DEFAULT NULL,
    class_weight_true double precision DEFAULT 1,
    class_weight_false double precision DEFAULT 1,
    n_trees integer DEFAULT 0,
    max_features integer DEFAULT NULL,
    bootstrap boolean DEFAULT true,
    seed bigint DEFAULT 0,
    feature_names text[] DEFAULT NULL)
RETURNS crm.tree_options
AS 'MODULE_PATHNAME', 'crm_tree_options'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.tree_options(integer, integer, integer, double precision, text, double precision, double precision, integer, integer, boolean, bigint, text[]) IS
'Options for crm.tree_fit / crm.regression_tree_fit: max_depth (NULL: unlimited), min_samples_split, min_samples_leaf, '
'min_impurity_decrease (as scikit-learn), criterion gini | entropy (classification; regression uses squared_error), '
'class weights of true and false rows, n_trees (0: one CART tree; n: a random forest of n trees), max_features per '
'split (NULL: all for a tree, floor(sqrt(features)) for a forest), bootstrap, seed, feature_names (for the rules).';

CREATE TYPE crm.tree_model;

CREATE FUNCTION crm._tree_model_in(cstring) RETURNS crm.tree_model
AS 'MODULE_PATHNAME', 'crm_tree_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._tree_model_in(cstring) IS 'Input function of crm.tree_model (the JSON text form, validated).';
CREATE FUNCTION crm._tree_model_out(crm.tree_model) RETURNS cstring
AS 'MODULE_PATHNAME', 'crm_tree_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._tree_model_out(crm.tree_model) IS 'Output function of crm.tree_model (JSON).';
CREATE FUNCTION crm._tree_model_recv(internal) RETURNS crm.tree_model
AS 'MODULE_PATHNAME', 'crm_tree_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._tree_model_recv(internal) IS 'Binary input of crm.tree_model (validated).';
CREATE FUNCTION crm._tree_model_send(crm.tree_model) RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_tree_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._tree_model_send(crm.tree_model) IS 'Binary output of crm.tree_model.';

CREATE TYPE crm.tree_model (
    INPUT = crm._tree_model_in,
    OUTPUT = crm._tree_model_out,
    RECEIVE = crm._tree_model_recv,
    SEND = crm._tree_model_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended);
COMMENT ON TYPE crm.tree_model IS
'A fitted decision tree or random forest (versioned). Text form: JSON (dump and restore, reading); binary form: '
'the versioned bytes.';

-- Training: aggregates over one feature array and one label per row.
CREATE FUNCTION crm._tree_transfn(internal, double precision[], boolean, crm.tree_options)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_tree_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._tree_transfn(internal, double precision[], boolean, crm.tree_options)
IS 'Transition function of crm.tree_fit (internal).';
CREATE FUNCTION crm._tree_transfn(internal, double precision[], boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_tree_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._tree_transfn(internal, double precision[], boolean)
IS 'Transition function of crm.tree_fit with default options (internal).';
CREATE FUNCTION crm._regression_tree_transfn(internal, double precision[], double precision, crm.tree_options)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_regression_tree_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._regression_tree_transfn(internal, double precision[], double precision, crm.tree_options)
IS 'Transition function of crm.regression_tree_fit (internal).';
CREATE FUNCTION crm._regression_tree_transfn(internal, double precision[], double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_regression_tree_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._regression_tree_transfn(internal, double precision[], double precision)
IS 'Transition function of crm.regression_tree_fit with default options (internal).';
CREATE FUNCTION crm._tree_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_tree_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._tree_combine(internal, internal) IS 'Combine function of crm.tree_fit (internal).';
CREATE FUNCTION crm._tree_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_tree_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._tree_serial(internal) IS 'Serialises the crm.tree_fit state (internal).';
CREATE FUNCTION crm._tree_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_tree_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._tree_deserial(bytea, internal) IS 'Reads a serialised crm.tree_fit state (internal).';
CREATE FUNCTION crm._tree_merge_bytea(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_tree_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._tree_merge_bytea(internal, bytea) IS 'Merges a serialised crm.tree_fit partial state (internal).';
CREATE FUNCTION crm._tree_final(internal)
RETURNS crm.tree_model AS 'MODULE_PATHNAME', 'crm_tree_final' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._tree_final(internal) IS 'Final function of crm.tree_fit: fits the tree or forest (internal).';

CREATE AGGREGATE crm.tree_fit(features double precision[], label boolean, options crm.tree_options) (
    SFUNC = crm._tree_transfn, STYPE = internal,
    COMBINEFUNC = crm._tree_combine, SERIALFUNC = crm._tree_serial, DESERIALFUNC = crm._tree_deserial,
    FINALFUNC = crm._tree_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.tree_fit(double precision[], boolean, crm.tree_options) IS
'Fits a classification tree (CART, Gini or entropy) or random forest predicting label from the feature arrays. A NULL '
'element is a missing value; rows with a NULL array or label are skipped; NaN or Infinity is 22023. Deterministic, '
'whatever the row order or parallel plan.';
CREATE AGGREGATE crm.tree_fit(features double precision[], label boolean) (
    SFUNC = crm._tree_transfn, STYPE = internal,
    COMBINEFUNC = crm._tree_combine, SERIALFUNC = crm._tree_serial, DESERIALFUNC = crm._tree_deserial,
    FINALFUNC = crm._tree_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.tree_fit(double precision[], boolean) IS
'crm.tree_fit with the default options (one unpruned CART tree, Gini).';
CREATE AGGREGATE crm.regression_tree_fit(features double precision[], target double precision, options crm.tree_options) (
    SFUNC = crm._regression_tree_transfn, STYPE = internal,
    COMBINEFUNC = crm._tree_combine, SERIALFUNC = crm._tree_serial, DESERIALFUNC = crm._tree_deserial,
    FINALFUNC = crm._tree_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.regression_tree_fit(double precision[], double precision, crm.tree_options) IS
'Fits a regression tree (squared error) or random forest predicting target from the feature arrays.';
CREATE AGGREGATE crm.regression_tree_fit(features double precision[], target double precision) (
    SFUNC = crm._regression_tree_transfn, STYPE = internal,
    COMBINEFUNC = crm._tree_combine, SERIALFUNC = crm._tree_serial, DESERIALFUNC = crm._tree_deserial,
    FINALFUNC = crm._tree_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.regression_tree_fit(double precision[], double precision) IS
'crm.regression_tree_fit with the default options.';
CREATE AGGREGATE crm.tree_fit_partial(features double precision[], label boolean, options crm.tree_options) (
    SFUNC = crm._tree_transfn, STYPE = internal,
    COMBINEFUNC = crm._tree_combine, SERIALFUNC = crm._tree_serial, DESERIALFUNC = crm._tree_deserial,
    FINALFUNC = crm._tree_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.tree_fit_partial(double precision[], boolean, crm.tree_options) IS
'The training rows of crm.tree_fit as portable bytes, to fit elsewhere with crm.tree_fit_combine (shards).';
CREATE AGGREGATE crm.tree_fit_combine(partial_state bytea) (
    SFUNC = crm._tree_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._tree_combine, SERIALFUNC = crm._tree_serial, DESERIALFUNC = crm._tree_deserial,
    FINALFUNC = crm._tree_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.tree_fit_combine(bytea) IS
'Fits the model of crm.tree_fit (or crm.regression_tree_fit) from states of crm.tree_fit_partial. NULL states are skipped.';

-- Using a model.
CREATE FUNCTION crm.tree_predict(model crm.tree_model, features double precision[])
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_tree_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.tree_predict(crm.tree_model, double precision[]) IS
'The probability of true (classification; a forest averages its trees) or the predicted value (regression) for one '
'feature array. A NULL element is a missing value and takes the branch the training rows without it took.';

CREATE FUNCTION crm.tree_rules(model crm.tree_model, tree integer DEFAULT 1)
RETURNS TABLE (leaf integer, rule text, samples bigint, prediction double precision)
AS 'MODULE_PATHNAME', 'crm_tree_rules'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.tree_rules(crm.tree_model, integer) IS
'One row per leaf of tree number tree (1 for a single tree): the path as readable conditions with the feature names, '
'the training rows that reached it and its prediction (probability of true, or mean).';

CREATE FUNCTION crm.tree_info(model crm.tree_model,
    OUT kind text, OUT trees integer, OUT depth integer, OUT leaves integer, OUT samples bigint,
    OUT oob_score double precision, OUT feature_names text[], OUT criterion text, OUT max_depth integer,
    OUT min_samples_split integer, OUT min_samples_leaf integer, OUT max_features integer, OUT seed bigint)
AS 'MODULE_PATHNAME', 'crm_tree_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.tree_info(crm.tree_model) IS
'Summary of a tree model: classification or regression, number of trees, depth and leaves (of the first tree), '
'training rows, out-of-bag score (forest with bootstrap: accuracy or R^2; else NULL), feature names and the main '
'options (max_depth NULL: unlimited; max_features 0: the default).';

CREATE FUNCTION crm.tree_importance(model crm.tree_model)
RETURNS TABLE (feature integer, name text, importance double precision)
AS 'MODULE_PATHNAME', 'crm_tree_importance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.tree_importance(crm.tree_model) IS
'Feature importance (mean decrease in impurity, summing to 1), one row per feature.';

-- Evaluation: an aggregate over (score, label) pairs, and k-fold cross-validation in one call.
CREATE TYPE crm.binary_metrics AS (
    rows bigint,
    positives bigint,
    auc double precision,
    log_loss double precision,
    accuracy double precision,
    precision double precision,
    recall double precision);
COMMENT ON TYPE crm.binary_metrics IS
'Result of crm.binary_metrics: rows, rows with label true, ROC AUC (ties count one half), mean log-loss (scores '
'clipped to [1e-15, 1 - 1e-15]), and accuracy, precision and recall when a score above the threshold predicts true.';

CREATE FUNCTION crm._binary_metrics_transfn(internal, double precision, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_binary_metrics_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._binary_metrics_transfn(internal, double precision, boolean)
IS 'Transition function of crm.binary_metrics (internal).';
CREATE FUNCTION crm._binary_metrics_transfn(internal, double precision, boolean, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_binary_metrics_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._binary_metrics_transfn(internal, double precision, boolean, double precision)
IS 'Transition function of crm.binary_metrics with a threshold (internal).';
CREATE FUNCTION crm._binary_metrics_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_binary_metrics_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._binary_metrics_combine(internal, internal) IS 'Combine function of crm.binary_metrics (internal).';
CREATE FUNCTION crm._binary_metrics_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_binary_metrics_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._binary_metrics_serial(internal) IS 'Serialises the crm.binary_metrics state (internal).';
CREATE FUNCTION crm._binary_metrics_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_binary_metrics_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._binary_metrics_deserial(bytea, internal) IS 'Reads a serialised crm.binary_metrics state (internal).';
CREATE FUNCTION crm._binary_metrics_final(internal)
RETURNS crm.binary_metrics AS 'MODULE_PATHNAME', 'crm_binary_metrics_final' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._binary_metrics_final(internal) IS 'Final function of crm.binary_metrics (internal).';

CREATE AGGREGATE crm.binary_metrics(score double precision, label boolean) (
    SFUNC = crm._binary_metrics_transfn, STYPE = internal,
    COMBINEFUNC = crm._binary_metrics_combine, SERIALFUNC = crm._binary_metrics_serial,
    DESERIALFUNC = crm._binary_metrics_deserial, FINALFUNC = crm._binary_metrics_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.binary_metrics(double precision, boolean) IS
'Quality of scores (probabilities of true) against labels: AUC, log-loss, and accuracy / precision / recall at the '
'threshold 0.5. Rows with a NULL score or label are skipped; a score outside [0, 1] or NaN is 22023.';
CREATE AGGREGATE crm.binary_metrics(score double precision, label boolean, threshold double precision) (
    SFUNC = crm._binary_metrics_transfn, STYPE = internal,
    COMBINEFUNC = crm._binary_metrics_combine, SERIALFUNC = crm._binary_metrics_serial,
    DESERIALFUNC = crm._binary_metrics_deserial, FINALFUNC = crm._binary_metrics_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.binary_metrics(double precision, boolean, double precision) IS
'crm.binary_metrics with accuracy, precision and recall at another threshold (the same on every row).';

-- The one-call forms over a table.
CREATE FUNCTION crm.tree_fit_table(relation regclass, feature_cols name[], label_col name,
                                   options crm.tree_options DEFAULT NULL)
RETURNS crm.tree_model
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text;
    opts crm.tree_options := coalesce(options, crm.tree_options());
    model crm.tree_model;
BEGIN
    IF relation IS NULL OR feature_cols IS NULL OR label_col IS NULL THEN
        RAISE EXCEPTION 'tree_fit_table: relation, feature_cols and label_col must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF cardinality(feature_cols) = 0 OR array_position(feature_cols, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'tree_fit_table: feature_cols must name at least one column, without NULLs' USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(relation, 'tree_fit_table', 'relation');
    SELECT string_agg(format('%I', c), ', ') INTO cols FROM unnest(feature_cols) c;
    IF opts.feature_names IS NULL THEN
        opts.feature_names := feature_cols::text[];
    END IF;
    EXECUTE format('SELECT crm.tree_fit(ARRAY[%s]::double precision[], %I, $1) FROM %s', cols, label_col, relation)
        INTO model USING opts;
    RETURN model;
END
$$;
COMMENT ON FUNCTION crm.tree_fit_table(regclass, name[], name, crm.tree_options) IS
'crm.tree_fit over named columns of a table or view (a boolean label column); feature names default to the column '
'names.';

CREATE FUNCTION crm.tree_cross_validate(relation regclass, feature_cols name[], label_col name,
                                        options crm.tree_options DEFAULT NULL, folds integer DEFAULT 5,
                                        seed integer DEFAULT 0, threshold double precision DEFAULT 0.5)
RETURNS TABLE (fold integer, train_rows bigint, test_rows bigint, auc double precision, log_loss double precision,
               accuracy double precision, "precision" double precision, recall double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
-- The folds hash the feature values' text: pin how a float8 prints, so they do not depend on the session.
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 3
AS $$
DECLARE
    cols text;
    opts crm.tree_options := coalesce(options, crm.tree_options());
    folded text;
    model crm.tree_model;
    n_train bigint;
    m crm.binary_metrics;
BEGIN
    IF relation IS NULL OR feature_cols IS NULL OR label_col IS NULL OR folds IS NULL OR seed IS NULL
       OR threshold IS NULL THEN
        RAISE EXCEPTION 'tree_cross_validate: relation, feature_cols, label_col, folds, seed and threshold must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF folds < 2 OR folds > 100 THEN
        RAISE EXCEPTION 'tree_cross_validate: folds must be between 2 and 100, got %', folds USING ERRCODE = '22023';
    END IF;
    IF cardinality(feature_cols) = 0 OR array_position(feature_cols, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'tree_cross_validate: feature_cols must name at least one column, without NULLs'
            USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(relation, 'tree_cross_validate', 'relation');
    SELECT string_agg(format('%I', c), ', ') INTO cols FROM unnest(feature_cols) c;
    IF opts.feature_names IS NULL THEN
        opts.feature_names := feature_cols::text[];
    END IF;
    -- Stratified folds that depend on the rows' contents only: within each label, rows are ordered by a
    -- seeded hash of their values and their rank among identical rows, and dealt round-robin. The rank
    -- scatters identical rows at random; without it they would sit side by side and be dealt evenly into
    -- every fold, which makes the estimate optimistic (by 0.013 AUC on the CDNOW churn task).
    folded := format($q$
        WITH s AS (
            SELECT ARRAY[%1$s]::double precision[] AS f, %2$I AS y FROM %3$s WHERE %2$I IS NOT NULL),
        r AS (
            SELECT f, y, pg_catalog.hashtext($1::text || ':' || f::text || ':' || y::text || ':'
                                             || row_number() OVER (PARTITION BY f::text, y)) AS h
            FROM s)
        SELECT f, y, ((row_number() OVER (PARTITION BY y ORDER BY h, f::text) - 1) %% $2)::integer AS k FROM r$q$,
        cols, label_col, relation);
    -- One fit and one evaluation per fold. The model goes to the evaluation as a parameter, which the
    -- planner turns into a constant: crm.tree_predict then decodes it once, not once per row.
    FOR i IN 0 .. folds - 1 LOOP
        EXECUTE format('SELECT crm.tree_fit(d.f, d.y, $4), count(*) FROM (%s) d WHERE d.k <> $3', folded)
            INTO model, n_train USING seed, folds, i, opts;
        EXECUTE format('SELECT (q.r).* FROM (SELECT crm.binary_metrics(crm.tree_predict($4, d.f), d.y, $5) AS r '
                       'FROM (%s) d WHERE d.k = $3) q', folded)
            INTO m USING seed, folds, i, model, threshold;
        fold := i + 1;
        train_rows := n_train;
        test_rows := m.rows;
        auc := m.auc;
        log_loss := m.log_loss;
        accuracy := m.accuracy;
        "precision" := m.precision;
        recall := m.recall;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION crm.tree_cross_validate(regclass, name[], name, crm.tree_options, integer, integer, double precision) IS
'k-fold cross-validation of crm.tree_fit on named columns of a table (boolean label column): stratified folds '
'that depend on the rows only (seeded), one row per fold with the training and test rows, AUC, log-loss, accuracy, '
'precision and recall at threshold. Average the rows for the cross-validated figures. Reads the table twice per '
'fold.';

-------------------------------------------------------------------------------
-- Customer profile: one tagged row per customer with a next best action
-- (docs/profile.md). Tags and actions come from editable rule tables.
-------------------------------------------------------------------------------

CREATE FUNCTION crm._profile_rule_sql(condition text)
RETURNS text AS 'MODULE_PATHNAME', 'crm_profile_rule_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._profile_rule_sql(text) IS
'Compiles a profile tag rule (comparisons of profile columns with constants, AND / OR / NOT, IN, BETWEEN, IS NULL) to '
'the SQL the profile evaluates; errors 42601 / 42703 / 42804 for a bad rule (internal; docs/profile.md).';

CREATE TABLE crm.profile_tag_rules (
    tag         text PRIMARY KEY CHECK (tag ~ '^[a-z][a-z0-9_]{0,62}$'),
    condition   text NOT NULL CHECK (crm._profile_rule_sql(condition) IS NOT NULL),
    priority    integer NOT NULL DEFAULT 100,
    enabled     boolean NOT NULL DEFAULT true,
    description text);
COMMENT ON TABLE crm.profile_tag_rules IS
'Tag rules of crm.customer_profile: a customer gets tag when condition (over the profile''s columns, see '
'docs/profile.md) is true; tags are listed by priority. Edit freely; set enabled = false rather than deleting a '
'shipped rule (a restore re-creates deleted ones). Inserting an existing tag replaces its rule.';

CREATE TABLE crm.profile_actions (
    priority    integer PRIMARY KEY,
    segment     text,
    tag         text,
    action      text NOT NULL CHECK (action <> ''),
    enabled     boolean NOT NULL DEFAULT true,
    description text);
COMMENT ON TABLE crm.profile_actions IS
'Next-best-action rules of crm.customer_profile: the enabled row with the lowest priority whose segment (NULL: any) '
'equals the customer''s RFM segment and whose tag (NULL: any) is among the customer''s tags gives the action. '
'Inserting an existing priority replaces its row.';

-- Writable by the extension's owner and whom they grant it to; readable by all, since every profile call reads them.
REVOKE ALL ON TABLE crm.profile_tag_rules, crm.profile_actions FROM PUBLIC;
GRANT SELECT ON TABLE crm.profile_tag_rules, crm.profile_actions TO PUBLIC;

-- A dump restores these tables' rows after CREATE EXTENSION has inserted the shipped defaults: an insert
-- of an existing key therefore replaces that row, so the restore brings back the user's version of it.
CREATE FUNCTION crm._profile_tag_rules_upsert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE crm.profile_tag_rules
    SET condition = NEW.condition, priority = NEW.priority, enabled = NEW.enabled, description = NEW.description
    WHERE tag OPERATOR(pg_catalog.=) NEW.tag;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm._profile_tag_rules_upsert() IS
'Trigger of crm.profile_tag_rules: an insert of an existing tag replaces its rule (internal).';
CREATE TRIGGER profile_tag_rules_upsert BEFORE INSERT ON crm.profile_tag_rules
    FOR EACH ROW EXECUTE FUNCTION crm._profile_tag_rules_upsert();

CREATE FUNCTION crm._profile_actions_upsert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE crm.profile_actions
    SET segment = NEW.segment, tag = NEW.tag, action = NEW.action, enabled = NEW.enabled, description = NEW.description
    WHERE priority OPERATOR(pg_catalog.=) NEW.priority;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm._profile_actions_upsert() IS
'Trigger of crm.profile_actions: an insert of an existing priority replaces its row (internal).';
CREATE TRIGGER profile_actions_upsert BEFORE INSERT ON crm.profile_actions
    FOR EACH ROW EXECUTE FUNCTION crm._profile_actions_upsert();

-- The shipped defaults (docs/profile.md). Later versions add rules with INSERT ... SELECT ... WHERE NOT
-- EXISTS (not ON CONFLICT DO NOTHING: the upsert triggers run before conflict arbitration and would
-- replace the user's row) and never change a row a user may have edited.
INSERT INTO crm.profile_tag_rules (tag, condition, priority, description) VALUES
    ('vip', 'value_tier = ''high'' AND churn_risk <> ''high''', 10,
     'High value and not likely to churn'),
    ('at_risk', 'value_tier IN (''high'', ''medium'') AND churn_risk IN (''high'', ''medium'')', 20,
     'Worth keeping and likely to churn'),
    ('new', 'tenure_days <= 90 AND frequency <= 2', 30,
     'First order within 90 days, at most two orders'),
    ('loyal', 'f_score >= 4 AND r_score >= 4', 40,
     'Orders often and recently'),
    ('big_spender', 'm_score = 5', 50,
     'Top fifth by total spend'),
    ('bargain_hunter', 'f_score >= 3 AND m_score <= 2', 60,
     'Orders often but spends little'),
    ('lapsed', 'value_tier = ''low'' AND (churn_risk = ''high'' OR r_score = 1)', 70,
     'Low value and probably gone, or not seen for long (bottom fifth by recency)');
INSERT INTO crm.profile_actions (priority, segment, tag, action, description) VALUES
    (10, NULL, 'vip', 'vip_service', 'Personal service and early access; no discounts needed'),
    (20, NULL, 'at_risk', 'win_back_offer', 'A personal win-back offer before they are gone'),
    (30, NULL, 'new', 'welcome_series', 'Onboarding and a second-order incentive'),
    (40, NULL, 'loyal', 'membership_invite', 'Invite to the membership / loyalty programme'),
    (50, NULL, 'bargain_hunter', 'promotion', 'Targeted promotions'),
    (60, NULL, 'lapsed', 'low_cost_reactivation', 'E-mail only: no paid marketing spend'),
    (1000, NULL, NULL, 'standard_communication', 'Everyone else: the regular newsletter and promotions');

SELECT pg_catalog.pg_extension_config_dump('crm.profile_tag_rules', '');
SELECT pg_catalog.pg_extension_config_dump('crm.profile_actions', '');

-- A model's features as an array expression over the profile's numeric columns, by the model's
-- feature names (k-means clusters and tree churn models alike).
CREATE FUNCTION crm._profile_features(features text[], model_kind text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed constant text[] := ARRAY['recency_days', 'frequency', 'monetary', 'avg_order_value', 'tenure_days',
                                     'r_score', 'f_score', 'm_score', 'p_alive', 'expected_purchases', 'clv'];
    feature text;
BEGIN
    IF features IS NULL OR cardinality(features) = 0 THEN
        RAISE EXCEPTION 'customer_profile: the % has no feature names', model_kind
            USING ERRCODE = '22023',
                  HINT = 'Fit it with feature_names naming profile columns, e.g. ARRAY[''recency_days'', ''frequency'', ''monetary''].';
    END IF;
    FOREACH feature IN ARRAY features LOOP
        IF feature IS NULL OR NOT (feature = ANY (allowed)) THEN
            RAISE EXCEPTION 'customer_profile: the %''s feature "%" is not a profile column', model_kind, feature
                USING ERRCODE = '42703', HINT = 'Features may be ' || array_to_string(allowed, ', ') || '.';
        END IF;
    END LOOP;
    RETURN (SELECT format('ARRAY[%s]::double precision[]', string_agg(format('%I', x), ', ' ORDER BY n))
            FROM unnest(features) WITH ORDINALITY u(x, n));
END
$$;
COMMENT ON FUNCTION crm._profile_features(text[], text) IS
'The array expression of a model''s features over crm.customer_profile''s columns; 22023 / 42703 for a model whose '
'feature names are missing or not profile columns (internal).';

CREATE FUNCTION crm.customer_profile_typed(
    orders regclass, customer_col name, date_col name, amount_col name, key_type anyelement,
    as_of date DEFAULT NULL,
    kmeans_model crm.kmeans_model DEFAULT NULL,
    cluster_names text[] DEFAULT NULL,
    months integer DEFAULT 12,
    time_unit text DEFAULT 'week',
    value_tiers double precision[] DEFAULT '{0.2,0.5}',
    allow_unconverged boolean DEFAULT false,
    churn_model crm.tree_model DEFAULT NULL)
RETURNS TABLE (
    customer_key anyelement,
    recency_days integer,
    frequency bigint,
    monetary double precision,
    avg_order_value double precision,
    tenure_days integer,
    r_score integer,
    f_score integer,
    m_score integer,
    rfm_cell text,
    segment text,
    value_tier text,
    cluster integer,
    cluster_name text,
    p_alive double precision,
    stay_probability double precision,
    expected_purchases double precision,
    clv double precision,
    churn_risk text,
    tags text[],
    next_best_action text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cutoff date;
    cluster_sql text := 'NULL::integer';
    stay_sql text := 'NULL::double precision';
    -- Without a k-means model no customer has a cluster: no join with the (empty) cluster names.
    names_from text := 'k';
    name_sql text := 'NULL::text';
    tags_sql text;
    action_sql text;
BEGIN
    IF orders IS NULL OR customer_col IS NULL OR date_col IS NULL OR amount_col IS NULL OR months IS NULL
       OR time_unit IS NULL OR value_tiers IS NULL THEN
        RAISE EXCEPTION 'customer_profile: orders, the column names, months, time_unit and value_tiers must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF array_ndims(value_tiers) IS DISTINCT FROM 1 OR cardinality(value_tiers) <> 2
       OR array_position(value_tiers, NULL) IS NOT NULL
       OR NOT (value_tiers[1] > 0 AND value_tiers[1] < value_tiers[2] AND value_tiers[2] < 1) THEN
        RAISE EXCEPTION 'customer_profile: value_tiers must be two shares 0 < high < medium < 1, got %', value_tiers
            USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(orders, 'customer_profile', 'orders');
    cutoff := as_of;
    IF cutoff IS NULL THEN
        EXECUTE format('SELECT max(%I)::date FROM %s', date_col, orders) INTO cutoff;
        IF cutoff IS NULL THEN
            RETURN;  -- no orders
        END IF;
    END IF;
    IF NOT isfinite(cutoff) THEN
        RAISE EXCEPTION 'customer_profile: as_of must be finite' USING ERRCODE = '22023';
    END IF;

    -- The cluster and the tree's probability that the customer stays: each model's features by name, from
    -- the profile's numeric columns.
    IF kmeans_model IS NOT NULL THEN
        cluster_sql := format('(SELECT CASE WHEN array_position(f.v, NULL) IS NULL THEN crm.kmeans_assign($3, f.v) END '
                              'FROM (SELECT %s AS v) f)',
                              crm._profile_features((crm.kmeans_info(kmeans_model)).feature_names, 'k-means model'));
        names_from := 'k LEFT JOIN (SELECT * FROM crm.kmeans_cluster_names($3)) n ON n.cluster = k.cluster';
        name_sql := 'coalesce($9[k.cluster], n.name)';
    END IF;
    IF churn_model IS NOT NULL THEN
        IF (crm.tree_info(churn_model)).kind <> 'classification' THEN
            RAISE EXCEPTION 'customer_profile: churn_model must be a classification tree or forest (true = stays)'
                USING ERRCODE = '22023';
        END IF;
        -- A NULL feature is a missing value to the tree.
        stay_sql := format('crm.tree_predict($10, %s)',
                           crm._profile_features((crm.tree_info(churn_model)).feature_names, 'churn model'));
    END IF;

    -- Tags and the next best action, from the rule tables. Each rule is recompiled here from its text (the
    -- table's CHECK is not trusted), and only the compiler's output and quoted literals enter the query.
    SELECT coalesce('array_remove(ARRAY[' || string_agg(format('CASE WHEN %s THEN %L END',
                                                               crm._profile_rule_sql(r.condition), r.tag),
                                                        ', ' ORDER BY r.priority, r.tag) || ']::text[], NULL)',
                    'ARRAY[]::text[]')
    INTO tags_sql FROM crm.profile_tag_rules r WHERE r.enabled;
    SELECT coalesce('CASE ' || string_agg(format('WHEN %s AND %s THEN %L',
                                                 CASE WHEN a.segment IS NULL THEN 'true'
                                                      ELSE format('t.segment = %L', a.segment) END,
                                                 CASE WHEN a.tag IS NULL THEN 'true'
                                                      ELSE format('%L = ANY (t.tags)', a.tag) END,
                                                 a.action), ' ' ORDER BY a.priority) || ' END',
                    'NULL::text')
    INTO action_sql FROM crm.profile_actions a WHERE a.enabled;

    RETURN QUERY EXECUTE format($q$
        WITH r AS MATERIALIZED (
            SELECT * FROM crm.rfm_analyze_typed($1, %1$L::name, %2$L::name, %3$L::name, $2,
                                                ($4 + 1)::timestamptz - interval '1 microsecond')),
        -- The value tier is cume_dist() OVER (ORDER BY clv DESC NULLS LAST) over the customers of r,
        -- computed as cume_dist does (customers up to this one's last peer, as float8, over all of r's
        -- customers as float8) from a window over c alone: every customer of c is in r, and r's others
        -- have no CLV and sort last, so the counts are the same, and only c's narrow rows are sorted.
        c AS (
            SELECT x.*, count(*) OVER (ORDER BY x.clv DESC NULLS LAST) AS clv_rank
            FROM crm.clv_analyze_typed($1, %1$L::name, %2$L::name, %3$L::name, $2, $4, $5, $6,
                                       allow_unconverged => $7) x),
        b AS (
            SELECT r.customer_key, r.recency_days, r.frequency, r.monetary,
                   r.monetary / nullif(r.frequency, 0) AS avg_order_value,
                   round(c.age * CASE $5 WHEN 'week' THEN 7 ELSE 1 END)::integer AS tenure_days,
                   r.r_score, r.f_score, r.m_score, r.rfm_cell, r.segment,
                   CASE WHEN c.clv IS NULL THEN NULL
                        WHEN c.clv_rank::double precision / n.customers::double precision <= $8[1] THEN 'high'
                        WHEN c.clv_rank::double precision / n.customers::double precision <= $8[2] THEN 'medium'
                        ELSE 'low' END AS value_tier,
                   c.p_alive, c.expected_purchases, c.clv, c.churn_risk
            FROM r LEFT JOIN c ON c.customer_key = r.customer_key CROSS JOIN (SELECT count(*) AS customers FROM r) n),
        -- OFFSET 0 keeps k and t from being flattened into the queries above them, which would copy
        -- their expressions into every reference: the model calls, and the tag array that each action
        -- condition reads (measured: 1.1 s of 6 s for 500,000 customers).
        k AS (
            SELECT b.*, %4$s AS cluster, %7$s AS stay_probability FROM b OFFSET 0),
        named AS (
            SELECT k.customer_key, k.recency_days, k.frequency, k.monetary, k.avg_order_value, k.tenure_days,
                   k.r_score, k.f_score, k.m_score, k.rfm_cell, k.segment, k.value_tier, k.cluster,
                   %9$s AS cluster_name,
                   k.p_alive, k.stay_probability, k.expected_purchases, k.clv,
                   CASE WHEN $10 IS NULL THEN k.churn_risk
                        ELSE crm.churn_risk(k.stay_probability, k.expected_purchases) END AS churn_risk
            FROM %8$s),
        t AS (
            SELECT named.*, %5$s AS tags FROM named OFFSET 0)
        SELECT t.*, %6$s FROM t$q$,
        customer_col, date_col, amount_col, cluster_sql, tags_sql, action_sql, stay_sql, names_from, name_sql)
    USING orders, key_type, kmeans_model, cutoff, time_unit, months, coalesce(allow_unconverged, false),
          value_tiers, cluster_names, churn_model;
END
$$;
COMMENT ON FUNCTION crm.customer_profile_typed(regclass, name, name, name, anyelement, date, crm.kmeans_model, text[], integer, text, double precision[], boolean, crm.tree_model) IS
'One row per customer: RFM values, scores and segment, average order value, tenure, value tier (top value_tiers[1] of '
'customers by CLV high, up to value_tiers[2] medium, the rest low), cluster and cluster name when kmeans_model is given '
'(names from crm.kmeans_cluster_names unless cluster_names overrides them), P(alive), expected purchases, CLV, churn '
'risk, tags from crm.profile_tag_rules and the next best action from crm.profile_actions. With churn_model (a '
'classification tree or forest over profile columns, true = the customer stays) stay_probability is its prediction '
'and the churn-risk tier uses it in place of P(alive). as_of defaults to the last order date; orders after it are '
'ignored. Customer keys in the type of key_type.';

CREATE FUNCTION crm.customer_profile(
    orders regclass, customer_col name, date_col name, amount_col name,
    as_of date DEFAULT NULL,
    kmeans_model crm.kmeans_model DEFAULT NULL,
    cluster_names text[] DEFAULT NULL,
    months integer DEFAULT 12,
    time_unit text DEFAULT 'week',
    value_tiers double precision[] DEFAULT '{0.2,0.5}',
    allow_unconverged boolean DEFAULT false,
    churn_model crm.tree_model DEFAULT NULL)
RETURNS TABLE (
    customer_key bigint, recency_days integer, frequency bigint, monetary double precision,
    avg_order_value double precision, tenure_days integer, r_score integer, f_score integer, m_score integer,
    rfm_cell text, segment text, value_tier text, cluster integer, cluster_name text, p_alive double precision,
    stay_probability double precision, expected_purchases double precision, clv double precision, churn_risk text,
    tags text[], next_best_action text)
LANGUAGE sql STABLE PARALLEL RESTRICTED
-- No SET clause, so the planner inlines this wrapper into the calling query instead of collecting its rows
-- in one more tuplestore (about 200 ms per 500,000 customers). The body stays safe under any search_path:
-- it names one schema-qualified function, and bigint is a keyword type (always pg_catalog.int8).
AS $$
    SELECT * FROM crm.customer_profile_typed(orders, customer_col, date_col, amount_col, NULL::bigint, as_of,
                                             kmeans_model, cluster_names, months, time_unit, value_tiers,
                                             allow_unconverged, churn_model)
$$;
COMMENT ON FUNCTION crm.customer_profile(regclass, name, name, name, date, crm.kmeans_model, text[], integer, text, double precision[], boolean, crm.tree_model) IS
'crm.customer_profile_typed with integer customer keys (as bigint): one tagged row per customer with a next best action '
'(docs/profile.md).';

-------------------------------------------------------------------------------
-- 0.2.0 additions below are sql/install/reco.sql and sql/install/factors.sql as they are.
-------------------------------------------------------------------------------
-- Recommendations II: item-kNN, content-based, hybrid, popular (cold start),
-- diversity, and one evaluation function for every method
-------------------------------------------------------------------------------
-- Every top-N function returns (user_id, rank, item_id, score, reason): reason
-- says why the item is there (similar_items, similar_users, content, hybrid,
-- popular_in_group, popular). Lists are filled up from popularity, so a new
-- user gets the popular items and every user gets n items while the catalogue
-- has them.

CREATE FUNCTION crm.itemknn_fit(
    ratings regclass, user_col name, item_col name, rating_col name,
    k integer DEFAULT 100, similarity text DEFAULT 'cosine', items bigint[] DEFAULT NULL)
RETURNS TABLE (item_id bigint, rank integer, neighbour_id bigint, similarity double precision)
AS 'MODULE_PATHNAME', 'crm_itemknn_fit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.itemknn_fit(regclass, name, name, name, integer, text, bigint[]) IS
'Each item''s k most similar items (similarity > 0), for storing in a table that crm.itemknn_recommend_batch and '
'crm.similar_items read (model => ''my_neighbours''). similarity: cosine (binary has-bought vectors), adjusted_cosine, '
'pearson, msd. items: only these items'' rows, to refresh changed items (delete their old rows first).';

CREATE FUNCTION crm.similar_items(
    ratings regclass, user_col name, item_col name, rating_col name, item bigint,
    n integer DEFAULT 10, similarity text DEFAULT 'cosine')
RETURNS TABLE (rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_similar_items'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.similar_items(regclass, name, name, name, bigint, integer, text) IS
'The n items most similar to item, computed from the current ratings ("customers who bought this also bought"). '
'An item nobody has rated yet has none (use crm.content_similar_items).';

CREATE FUNCTION crm.similar_items(model regclass, item bigint, n integer DEFAULT 10)
RETURNS TABLE (rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_similar_items_stored'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.similar_items(regclass, bigint, integer) IS
'The n most similar items of item from stored neighbour lists (a table with the columns of crm.itemknn_fit: '
'item_id, neighbour_id, similarity); as fresh as the last refresh of that table.';

CREATE FUNCTION crm.itemknn_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, k integer DEFAULT 100, similarity text DEFAULT 'cosine', model regclass DEFAULT NULL,
    diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_itemknn_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.itemknn_recommend_batch(regclass, name, name, name, bigint[], integer, integer, text, regclass, double precision) IS
'Item-based top-n for every user (or users): score = summed similarity of the user''s current items that are among '
'the item''s k neighbours; items the user has are excluded. model: stored neighbour lists (crm.itemknn_fit) instead of '
'building them. diversity in [0, 1]: Maximal Marginal Relevance re-ranking.';

CREATE FUNCTION crm.itemknn_predict(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[], items bigint[],
    k integer DEFAULT 40, min_k integer DEFAULT 1, similarity text DEFAULT 'pearson')
RETURNS TABLE (user_id bigint, item_id bigint, prediction double precision)
AS 'MODULE_PATHNAME', 'crm_itemknn_predict'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.itemknn_predict(regclass, name, name, name, bigint[], bigint[], integer, integer, text) IS
'Predicted ratings of (users[i], items[i]) by mean-centred item-based k-NN (Surprise KNNWithMeans, user_based = '
'False): the k items the user rated that are most similar to the item, similarity > 0; fewer than min_k -> the '
'item''s mean; unknown user or item -> the global mean; clipped to the rating scale.';

CREATE FUNCTION crm.userknn_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, k integer DEFAULT 40, neighbours text DEFAULT 'binary',
    diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_userknn_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.userknn_recommend_batch(regclass, name, name, name, bigint[], integer, integer, text, double precision) IS
'crm.cf_recommend_batch in the shape of the other top-n functions (reason column) and with the diversity option.';

CREATE FUNCTION crm.content_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name,
    attributes regclass, attribute_item_col name, attribute_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_content_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.content_recommend_batch(regclass, name, name, name, regclass, name, name, bigint[], integer, double precision) IS
'Content-based top-n: the cosine of each item''s TF-IDF attribute vector to the user''s profile (the normalised sum '
'of the vectors of the user''s items). attribute_col: text[] per item, or one value per row (key/value rows). '
'Reaches items nobody has bought yet.';

CREATE FUNCTION crm.content_similar_items(
    attributes regclass, attribute_item_col name, attribute_col name, item bigint, n integer DEFAULT 10)
RETURNS TABLE (rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_content_similar_items'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.content_similar_items(regclass, name, name, bigint, integer) IS
'The n items whose TF-IDF attribute vectors are most similar (cosine) to the item''s: "items like this" for a new '
'product without sales.';

CREATE FUNCTION crm.hybrid_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name,
    attributes regclass, attribute_item_col name, attribute_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, k integer DEFAULT 100,
    weight double precision DEFAULT 0.9, min_support integer DEFAULT 1, new_item_slots integer DEFAULT NULL,
    diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_hybrid_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.hybrid_recommend_batch(regclass, name, name, name, regclass, name, name, bigint[], integer, integer, double precision, integer, integer, double precision) IS
'Item-kNN and content blended: weight * collaborative + (1 - weight) * content (each scaled to the user''s best, '
'the user''s items weighted by their ratings). New items (fewer than min_support ratings) enter where the '
'content-based list of the same length has them, at most new_item_slots of them (NULL: no limit).';

CREATE FUNCTION crm.popular_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, customers regclass DEFAULT NULL, customer_col name DEFAULT NULL, group_col name DEFAULT NULL)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_popular_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.popular_recommend_batch(regclass, name, name, name, bigint[], integer, regclass, name, name) IS
'Cold start: the items most users of the user''s group have (group_col of customers: segment, cluster, region), '
'then the most popular overall; score = number of users. Items the user has are excluded.';

CREATE FUNCTION crm.reco_evaluate(
    ratings regclass, user_col name, item_col name, rating_col name, method text,
    folds integer DEFAULT 5, fold_col name DEFAULT NULL, n integer DEFAULT 10,
    relevant_threshold double precision DEFAULT 4, implicit boolean DEFAULT false, options jsonb DEFAULT NULL)
RETURNS TABLE (fold integer, test_ratings bigint, users bigint, rmse double precision, mae double precision,
               precision_at_n double precision, recall_at_n double precision, ndcg_at_n double precision,
               map_at_n double precision, coverage double precision, intra_list_diversity double precision,
               mean_popularity double precision)
AS 'MODULE_PATHNAME', 'crm_reco_evaluate'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.reco_evaluate(regclass, name, name, name, text, integer, name, integer, double precision, boolean, jsonb) IS
'Cross-validation of a top-n method (userknn, itemknn, content, hybrid, popular, random, als, svd): per fold '
'RMSE/MAE (methods that predict ratings), precision, recall, NDCG and MAP at n, catalogue coverage, intra-list diversity and mean '
'popularity. fold_col: fixed folds (0 .. folds-1 evaluated; other values always train). options: the method''s '
'hyper-parameters and item attributes as JSON.';

-------------------------------------------------------------------------------
-- Recommendations III: latent-factor models (implicit ALS, biased SVD) with
-- fold-in of each user's current rows (docs/recommendations.md)
-------------------------------------------------------------------------------

CREATE TYPE crm.factor_model;

CREATE FUNCTION crm._factor_model_in(cstring) RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_factor_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_in(cstring) IS 'Input function of crm.factor_model (the JSON text form, validated).';
CREATE FUNCTION crm._factor_model_out(crm.factor_model) RETURNS cstring
AS 'MODULE_PATHNAME', 'crm_factor_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_out(crm.factor_model) IS 'Output function of crm.factor_model (JSON).';
CREATE FUNCTION crm._factor_model_recv(internal) RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_factor_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_recv(internal) IS 'Binary input of crm.factor_model (validated).';
CREATE FUNCTION crm._factor_model_send(crm.factor_model) RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_factor_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_send(crm.factor_model) IS 'Binary output of crm.factor_model.';

CREATE TYPE crm.factor_model (
    INPUT = crm._factor_model_in,
    OUTPUT = crm._factor_model_out,
    RECEIVE = crm._factor_model_recv,
    SEND = crm._factor_model_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended);
COMMENT ON TYPE crm.factor_model IS
'A fitted latent-factor model (implicit ALS or biased SVD; versioned): user and item factors, biases, '
'hyper-parameters, training error and the relation it was fitted on. Text form: JSON; binary form: the versioned bytes.';

CREATE FUNCTION crm.als_fit(
    ratings regclass, user_col name, item_col name, rating_col name,
    factors integer DEFAULT 16, regularization double precision DEFAULT 5, alpha double precision DEFAULT 2,
    iterations integer DEFAULT 10, seed integer DEFAULT 0)
RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_als_fit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.als_fit(regclass, name, name, name, integer, double precision, double precision, integer, integer) IS
'Implicit ALS (Hu, Koren and Volinsky 2008) on purchase data: confidence 1 + alpha * rating, plain regularization * I, '
'N(0, 0.01) start seeded by seed; both cores. Pass a column of ones to binarise. For crm.als_recommend_batch.';

CREATE FUNCTION crm.svd_fit(
    ratings regclass, user_col name, item_col name, rating_col name,
    factors integer DEFAULT 100, epochs integer DEFAULT 20, learning_rate double precision DEFAULT 0.005,
    regularization double precision DEFAULT 0.02, init_std double precision DEFAULT 0.1, seed integer DEFAULT 0)
RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_svd_fit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.svd_fit(regclass, name, name, name, integer, integer, double precision, double precision, double precision, integer) IS
'Biased matrix factorisation by SGD with the semantics and defaults of Surprise''s SVD: '
'mean + user bias + item bias + q_i . p_u, for rating prediction (crm.svd_predict).';

CREATE FUNCTION crm.factor_model_info(model crm.factor_model)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'crm_factor_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.factor_model_info(crm.factor_model) IS
'Everything about a latent-factor model but its factors: kind, hyper-parameters, training error, users, items and '
'the relation and columns it was fitted on.';

CREATE FUNCTION crm.als_recommend_batch(
    model crm.factor_model, ratings regclass, user_col name, item_col name, rating_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, diversity double precision DEFAULT 0, force boolean DEFAULT false)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_als_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.als_recommend_batch(crm.factor_model, regclass, name, name, name, bigint[], integer, double precision, boolean) IS
'Top-n by implicit ALS for every user (or users): each user''s factors are solved from the user''s current rows and '
'the model''s item factors (fold-in), so new purchases and new users count at once. Known items are excluded. '
'A model fitted on another relation or columns is refused unless force.';

CREATE FUNCTION crm.svd_predict(model crm.factor_model, user_id bigint, item_id bigint)
RETURNS double precision
AS 'MODULE_PATHNAME', 'crm_svd_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.svd_predict(crm.factor_model, bigint, bigint) IS
'Predicted rating from the stored SVD factors; an unknown user or item contributes no bias or factor term (an '
'unknown pair gets the global mean); clipped to the training rating scale.';

CREATE FUNCTION crm.svd_predict(
    model crm.factor_model, ratings regclass, user_col name, item_col name, rating_col name,
    users bigint[], items bigint[], force boolean DEFAULT false)
RETURNS TABLE (user_id bigint, item_id bigint, prediction double precision)
AS 'MODULE_PATHNAME', 'crm_svd_predict_folded'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.svd_predict(crm.factor_model, regclass, name, name, name, bigint[], bigint[], boolean) IS
'Predicted ratings of (users[i], items[i]) with each user''s bias and factors solved from the user''s current ratings '
'(ridge fold-in with the item terms fixed): works for users the model has never seen.';

-------------------------------------------------------------------------------
-- Approximate quantiles: mergeable KLL sketches (see rfm.md, scaling.md)
-------------------------------------------------------------------------------

CREATE FUNCTION crm._rfm_thresholds_approx_transfn(internal, double precision, double precision, double precision, integer)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_approx_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_approx_transfn(internal, double precision, double precision, double precision, integer)
IS 'Transition function of crm.rfm_thresholds_approx (internal).';

CREATE FUNCTION crm._rfm_thresholds_approx_transfn(internal, double precision, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_approx_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_approx_transfn(internal, double precision, double precision, double precision)
IS 'Transition function of crm.rfm_thresholds_approx with 5 bins (internal).';

CREATE FUNCTION crm._rfm_thresholds_approx_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_approx_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_approx_combine(internal, internal)
IS 'Combine function of crm.rfm_thresholds_approx: merges two sketches (internal).';

CREATE FUNCTION crm._rfm_thresholds_approx_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_approx_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._rfm_thresholds_approx_serial(internal)
IS 'Serialises the crm.rfm_thresholds_approx state to a versioned, portable byte format (internal).';

CREATE FUNCTION crm._rfm_thresholds_approx_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_approx_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._rfm_thresholds_approx_deserial(bytea, internal)
IS 'Reads a serialised crm.rfm_thresholds_approx state (internal).';

CREATE FUNCTION crm._rfm_thresholds_approx_final(internal)
RETURNS crm.rfm_thresholds AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_approx_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_approx_final(internal)
IS 'Final function of crm.rfm_thresholds_approx: the cut points from the sketches (internal).';

CREATE FUNCTION crm._rfm_thresholds_approx_merge_bytea(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_approx_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_approx_merge_bytea(internal, bytea)
IS 'Merges a serialised crm.rfm_thresholds_approx partial state (internal).';

CREATE AGGREGATE crm.rfm_thresholds_approx(recency_days double precision, frequency double precision,
                                           monetary double precision, bins integer) (
    SFUNC = crm._rfm_thresholds_approx_transfn, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_approx_combine, SERIALFUNC = crm._rfm_thresholds_approx_serial,
    DESERIALFUNC = crm._rfm_thresholds_approx_deserial, FINALFUNC = crm._rfm_thresholds_approx_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_approx(double precision, double precision, double precision, integer) IS
'Approximate crm.rfm_thresholds in a fixed few kilobytes: each cut point''s rank is within 1.65% of the number of '
'customers of its target (99% confidence; KLL sketch, k = 200), exact up to 200 customers. Same NULL rules '
'and bins (2..10) as crm.rfm_thresholds; parallel workers merge sketches instead of shipping every value.';

CREATE AGGREGATE crm.rfm_thresholds_approx(recency_days double precision, frequency double precision,
                                           monetary double precision) (
    SFUNC = crm._rfm_thresholds_approx_transfn, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_approx_combine, SERIALFUNC = crm._rfm_thresholds_approx_serial,
    DESERIALFUNC = crm._rfm_thresholds_approx_deserial, FINALFUNC = crm._rfm_thresholds_approx_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_approx(double precision, double precision, double precision) IS
'Approximate crm.rfm_thresholds with 5 bins. See crm.rfm_thresholds_approx(float8, float8, float8, integer).';

CREATE AGGREGATE crm.rfm_thresholds_approx_partial(recency_days double precision, frequency double precision,
                                                   monetary double precision, bins integer) (
    SFUNC = crm._rfm_thresholds_approx_transfn, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_approx_combine, SERIALFUNC = crm._rfm_thresholds_approx_serial,
    DESERIALFUNC = crm._rfm_thresholds_approx_deserial, FINALFUNC = crm._rfm_thresholds_approx_serial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_approx_partial(double precision, double precision, double precision, integer) IS
'The sketches of crm.rfm_thresholds_approx as portable, versioned bytes (a few kilobytes), to combine elsewhere with '
'crm.rfm_thresholds_approx_combine (scale-out over shards).';

CREATE AGGREGATE crm.rfm_thresholds_approx_partial(recency_days double precision, frequency double precision,
                                                   monetary double precision) (
    SFUNC = crm._rfm_thresholds_approx_transfn, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_approx_combine, SERIALFUNC = crm._rfm_thresholds_approx_serial,
    DESERIALFUNC = crm._rfm_thresholds_approx_deserial, FINALFUNC = crm._rfm_thresholds_approx_serial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_approx_partial(double precision, double precision, double precision) IS
'crm.rfm_thresholds_approx_partial with 5 bins.';

CREATE AGGREGATE crm.rfm_thresholds_approx_combine(partial_state bytea) (
    SFUNC = crm._rfm_thresholds_approx_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_approx_combine, SERIALFUNC = crm._rfm_thresholds_approx_serial,
    DESERIALFUNC = crm._rfm_thresholds_approx_deserial, FINALFUNC = crm._rfm_thresholds_approx_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_approx_combine(bytea) IS
'Merges states from crm.rfm_thresholds_approx_partial (for example one per shard) into approximate cut points '
'with the same error bound. NULL states are skipped.';

CREATE FUNCTION crm._quantile_approx_transfn(internal, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_quantile_approx_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._quantile_approx_transfn(internal, double precision, double precision)
IS 'Transition function of crm.quantile_approx (internal).';

CREATE FUNCTION crm._quantile_approx_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_quantile_approx_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._quantile_approx_combine(internal, internal)
IS 'Combine function of crm.quantile_approx: merges two sketches (internal).';

CREATE FUNCTION crm._quantile_approx_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_quantile_approx_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._quantile_approx_serial(internal)
IS 'Serialises the crm.quantile_approx state to a versioned, portable byte format (internal).';

CREATE FUNCTION crm._quantile_approx_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_quantile_approx_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._quantile_approx_deserial(bytea, internal)
IS 'Reads a serialised crm.quantile_approx state (internal).';

CREATE FUNCTION crm._quantile_approx_final(internal)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_quantile_approx_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._quantile_approx_final(internal)
IS 'Final function of crm.quantile_approx (internal).';

CREATE FUNCTION crm._quantile_approx_merge_bytea(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'crm_quantile_approx_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._quantile_approx_merge_bytea(internal, bytea)
IS 'Merges a serialised crm.quantile_approx partial state (internal).';

CREATE AGGREGATE crm.quantile_approx(value double precision, fraction double precision) (
    SFUNC = crm._quantile_approx_transfn, STYPE = internal,
    COMBINEFUNC = crm._quantile_approx_combine, SERIALFUNC = crm._quantile_approx_serial,
    DESERIALFUNC = crm._quantile_approx_deserial, FINALFUNC = crm._quantile_approx_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.quantile_approx(double precision, double precision) IS
'Approximate percentile_cont(fraction) of value in a fixed few kilobytes, parallel and mergeable: the result''s '
'rank is within 1.65% of the row count of its target (99% confidence; KLL sketch, k = 200), exact up to 200 '
'values. NULL values are skipped; NULL over no values. fraction (0..1) must be the same on every row.';

CREATE AGGREGATE crm.quantile_approx_partial(value double precision, fraction double precision) (
    SFUNC = crm._quantile_approx_transfn, STYPE = internal,
    COMBINEFUNC = crm._quantile_approx_combine, SERIALFUNC = crm._quantile_approx_serial,
    DESERIALFUNC = crm._quantile_approx_deserial, FINALFUNC = crm._quantile_approx_serial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.quantile_approx_partial(double precision, double precision) IS
'The sketch of crm.quantile_approx as portable, versioned bytes, to combine elsewhere with '
'crm.quantile_approx_combine (scale-out over shards).';

CREATE AGGREGATE crm.quantile_approx_combine(partial_state bytea) (
    SFUNC = crm._quantile_approx_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._quantile_approx_combine, SERIALFUNC = crm._quantile_approx_serial,
    DESERIALFUNC = crm._quantile_approx_deserial, FINALFUNC = crm._quantile_approx_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.quantile_approx_combine(bytea) IS
'Merges states from crm.quantile_approx_partial (for example one per shard) into the approximate quantile. NULL '
'states are skipped.';

-- numeric temperatures: the same aggregates read a numeric column directly (the same doubles as the
-- cast to double precision gives, without its text round trip per row).
CREATE FUNCTION crm._series_transfn(internal, timestamptz, numeric)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_transfn_numeric'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION crm._series_transfn(internal, timestamptz, numeric, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_transfn_numeric'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION crm._series_transfn(internal, timestamptz, numeric, double precision, double precision,
                                    double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_transfn_numeric'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._series_transfn(internal, timestamptz, numeric)
IS 'Transition function of the cold-chain aggregates over numeric temperatures (internal).';
COMMENT ON FUNCTION crm._series_transfn(internal, timestamptz, numeric, double precision)
IS 'Transition function of the cold-chain aggregates with one parameter over numeric temperatures (internal).';
COMMENT ON FUNCTION crm._series_transfn(internal, timestamptz, numeric, double precision, double precision,
                                        double precision, double precision)
IS 'Transition function of crm._cold_chain_status over numeric temperatures (internal).';

CREATE AGGREGATE crm.temp_fit(ts timestamptz, temperature numeric) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._temp_fit_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit(timestamptz, numeric) IS
'crm.temp_fit over a numeric temperature column: the same fit as over its cast to double precision.';

CREATE AGGREGATE crm.temp_fit(ts timestamptz, temperature numeric, ambient double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._temp_fit_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit(timestamptz, numeric, double precision) IS
'crm.temp_fit with a known ambient over a numeric temperature column (the same fit as over its cast).';

CREATE AGGREGATE crm.time_above(ts timestamptz, temperature numeric, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._time_above_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_above(timestamptz, numeric, double precision) IS
'crm.time_above over a numeric temperature column (the same result as over its cast to double precision).';

CREATE AGGREGATE crm.time_below(ts timestamptz, temperature numeric, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._time_below_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_below(timestamptz, numeric, double precision) IS
'crm.time_below over a numeric temperature column (the same result as over its cast to double precision).';

CREATE AGGREGATE crm.mean_kinetic_temperature(ts timestamptz, temperature numeric) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._mkt_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature(timestamptz, numeric) IS
'crm.mean_kinetic_temperature over a numeric temperature column (the same result as over its cast).';

CREATE AGGREGATE crm.mean_kinetic_temperature(ts timestamptz, temperature numeric,
                                              activation_energy_kj double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._mkt_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature(timestamptz, numeric, double precision) IS
'crm.mean_kinetic_temperature with another activation energy over a numeric temperature column.';

CREATE AGGREGATE crm._cold_chain_status(ts timestamptz, temperature numeric, upper_limit double precision,
                                        lower_limit double precision, horizon_seconds double precision,
                                        as_of_epoch double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._cold_chain_status_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm._cold_chain_status(timestamptz, numeric, double precision, double precision,
                                            double precision, double precision) IS
'crm._cold_chain_status over a numeric temperature column (internal building block of crm.cold_chain_alerts).';

CREATE AGGREGATE crm.temp_fit_partial(ts timestamptz, temperature numeric) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit_partial(timestamptz, numeric) IS
'crm.temp_fit_partial over a numeric temperature column (the same bytes as over its cast to double precision).';

CREATE AGGREGATE crm.temp_fit_partial(ts timestamptz, temperature numeric, ambient double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit_partial(timestamptz, numeric, double precision) IS
'crm.temp_fit_partial with a known ambient over a numeric temperature column.';

CREATE AGGREGATE crm.time_above_partial(ts timestamptz, temperature numeric, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_above_partial(timestamptz, numeric, double precision) IS
'crm.time_above_partial over a numeric temperature column (the same bytes as over its cast to double precision).';

CREATE AGGREGATE crm.time_below_partial(ts timestamptz, temperature numeric, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_below_partial(timestamptz, numeric, double precision) IS
'crm.time_below_partial over a numeric temperature column (the same bytes as over its cast to double precision).';

CREATE AGGREGATE crm.mean_kinetic_temperature_partial(ts timestamptz, temperature numeric) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature_partial(timestamptz, numeric) IS
'crm.mean_kinetic_temperature_partial over a numeric temperature column (the same bytes as over its cast).';

CREATE AGGREGATE crm.mean_kinetic_temperature_partial(ts timestamptz, temperature numeric,
                                                      activation_energy_kj double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature_partial(timestamptz, numeric, double precision) IS
'crm.mean_kinetic_temperature_partial with another activation energy over a numeric temperature column.';

-- crm.cold_chain_alerts groups integer and uuid shipment keys as they are (text once per shipment).
CREATE OR REPLACE FUNCTION crm.cold_chain_alerts(
    readings regclass,
    shipment_col name,
    ts_col name,
    temp_col name,
    upper_limit double precision,
    horizon interval DEFAULT '2 hours',
    lower_limit double precision DEFAULT NULL,
    as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (
    shipment text,
    n_readings bigint,
    last_reading_at timestamptz,
    last_temperature double precision,
    status text,
    predicted_breach_at timestamptz,
    time_above_upper interval,
    time_below_lower interval,
    mean_kinetic_temperature double precision,
    model crm.temp_model)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    group_as_is boolean;
    temp_cast text;
BEGIN
    IF readings IS NULL OR shipment_col IS NULL OR ts_col IS NULL OR temp_col IS NULL OR horizon IS NULL
       OR as_of IS NULL THEN
        RAISE EXCEPTION 'cold_chain_alerts: readings, the column names, horizon and as_of must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    PERFORM crm._require_relation(readings, 'cold_chain_alerts', 'readings');
    IF NOT isfinite(as_of) OR NOT isfinite(horizon) THEN
        RAISE EXCEPTION 'cold_chain_alerts: as_of and horizon must be finite' USING ERRCODE = '22023';
    END IF;
    IF upper_limit IS NULL AND lower_limit IS NULL THEN
        RAISE EXCEPTION 'cold_chain_alerts: give upper_limit, lower_limit or both' USING ERRCODE = '22004';
    END IF;
    IF upper_limit = 'NaN' OR upper_limit IN ('Infinity', '-Infinity') OR lower_limit = 'NaN'
       OR lower_limit IN ('Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'cold_chain_alerts: limits must be finite numbers' USING ERRCODE = '22023';
    END IF;
    IF lower_limit >= upper_limit THEN
        RAISE EXCEPTION 'cold_chain_alerts: lower_limit (%) must be below upper_limit (%)', lower_limit, upper_limit
            USING ERRCODE = '22023';
    END IF;
    IF horizon < interval '0' THEN
        RAISE EXCEPTION 'cold_chain_alerts: horizon must not be negative' USING ERRCODE = '22023';
    END IF;
    -- Integer and uuid keys are grouped as they are (two are equal exactly when their texts are) and
    -- turned into text once per shipment; keys of other types are grouped by their text.
    SELECT a.atttypid IN ('pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype,
                          'pg_catalog.int8'::pg_catalog.regtype, 'pg_catalog.uuid'::pg_catalog.regtype)
      INTO group_as_is
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = readings AND a.attname = shipment_col AND a.attnum > 0 AND NOT a.attisdropped;
    -- A numeric temperature goes to the numeric aggregate as it is (the same doubles, no cast per row).
    SELECT CASE WHEN a.atttypid = 'pg_catalog.numeric'::pg_catalog.regtype THEN '' ELSE '::double precision' END
      INTO temp_cast
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = readings AND a.attname = temp_col AND a.attnum > 0 AND NOT a.attisdropped;
    -- Identifiers are quoted (%I); regclass prints a quoted, qualified name.
    RETURN QUERY EXECUTE format($q$
        SELECT g.k::text, (g.s).readings, (g.s).last_reading_at, (g.s).last_temperature, (g.s).status,
               (g.s).predicted_breach_at, (g.s).time_above_upper, (g.s).time_below_lower,
               (g.s).mean_kinetic_temperature, (g.s).model
        FROM (SELECT %1$I%5$s AS k,
                     crm._cold_chain_status(%2$I::timestamptz, %3$I%6$s, $1, $2, $3, $4) AS s
              FROM %4$s WHERE %2$I <= $5 GROUP BY 1) g
        WHERE (g.s).readings IS NOT NULL
        ORDER BY CASE (g.s).status WHEN 'breached' THEN 0 WHEN 'will breach within horizon' THEN 1
                                   WHEN 'insufficient data' THEN 2 ELSE 3 END,
                 (g.s).predicted_breach_at NULLS LAST, g.k::text $q$,
        shipment_col, ts_col, temp_col, readings, CASE WHEN group_as_is THEN '' ELSE '::text' END,
        coalesce(temp_cast, '::double precision'))
    USING upper_limit, lower_limit, extract(epoch FROM horizon)::double precision,
          extract(epoch FROM as_of - timestamptz '2000-01-01 00:00:00+00')::double precision, as_of;
END
$$;
