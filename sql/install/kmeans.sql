-------------------------------------------------------------------------------
-- Customer clustering: k-means
-------------------------------------------------------------------------------

CREATE TYPE crm.kmeans_options AS (
    k integer,
    seed integer,
    n_init integer,
    max_iter integer,
    tol double precision,
    scale text,
    feature_names text[],
    sample_size bigint,
    progress boolean);

COMMENT ON TYPE crm.kmeans_options IS
'Options of crm.kmeans_fit, built by the function crm.kmeans_options(...) (aggregates take no named arguments).';

CREATE FUNCTION crm.kmeans_options(
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

COMMENT ON FUNCTION crm.kmeans_options(integer, integer, integer, integer, double precision, text, text[], bigint, boolean) IS
'Options for crm.kmeans_fit: k clusters; seed (same seed, same model); n_init k-means++ starts (best inertia wins); '
'max_iter Lloyd iterations per start; tol (relative, as scikit-learn); scale zscore | minmax | none (remembered by '
'the model and applied on assignment); feature_names (labels); sample_size (fit on a uniform reservoir sample); '
'progress (a NOTICE per iteration with the inertia).';

CREATE TYPE crm.kmeans_model;

CREATE FUNCTION crm._kmeans_model_in(cstring) RETURNS crm.kmeans_model
AS 'MODULE_PATHNAME', 'crm_kmeans_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_model_in(cstring) IS 'Input function of crm.kmeans_model (the JSON text form).';
CREATE FUNCTION crm._kmeans_model_out(crm.kmeans_model) RETURNS cstring
AS 'MODULE_PATHNAME', 'crm_kmeans_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_model_out(crm.kmeans_model) IS 'Output function of crm.kmeans_model (JSON).';
CREATE FUNCTION crm._kmeans_model_recv(internal) RETURNS crm.kmeans_model
AS 'MODULE_PATHNAME', 'crm_kmeans_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_model_recv(internal) IS 'Binary input of crm.kmeans_model (validated).';
CREATE FUNCTION crm._kmeans_model_send(crm.kmeans_model) RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_kmeans_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_model_send(crm.kmeans_model) IS 'Binary output of crm.kmeans_model.';

CREATE TYPE crm.kmeans_model (
    INPUT = crm._kmeans_model_in,
    OUTPUT = crm._kmeans_model_out,
    RECEIVE = crm._kmeans_model_recv,
    SEND = crm._kmeans_model_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended);

COMMENT ON TYPE crm.kmeans_model IS
'A fitted k-means model: scaling, centroids, sizes, within-cluster sums of squares, inertia, and a version marker. '
'Its text form is JSON ({"format": "crm.kmeans_model", "version": 1, ...}); store it in a table column, '
'cast it to jsonb to read it.';

CREATE FUNCTION crm._kmeans_transfn(internal, double precision[], crm.kmeans_options)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_transfn(internal, double precision[], crm.kmeans_options)
IS 'Transition function of crm.kmeans_fit (internal).';
CREATE FUNCTION crm._kmeans_transfn(internal, double precision[], integer)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_transfn(internal, double precision[], integer)
IS 'Transition function of crm.kmeans_fit with k only (internal).';
CREATE FUNCTION crm._kmeans_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_combine(internal, internal) IS 'Combine function of crm.kmeans_fit (internal).';
CREATE FUNCTION crm._kmeans_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_kmeans_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_serial(internal) IS 'Serialises the crm.kmeans_fit state (internal).';
CREATE FUNCTION crm._kmeans_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_deserial(bytea, internal) IS 'Reads a serialised crm.kmeans_fit state (internal).';
CREATE FUNCTION crm._kmeans_final(internal)
RETURNS crm.kmeans_model AS 'MODULE_PATHNAME', 'crm_kmeans_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_final(internal) IS 'Final function of crm.kmeans_fit: runs the fit (internal).';

CREATE AGGREGATE crm.kmeans_fit(features double precision[], options crm.kmeans_options) (
    SFUNC = crm._kmeans_transfn, STYPE = internal,
    COMBINEFUNC = crm._kmeans_combine, SERIALFUNC = crm._kmeans_serial, DESERIALFUNC = crm._kmeans_deserial,
    FINALFUNC = crm._kmeans_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_fit(double precision[], crm.kmeans_options) IS
'Fits k-means (k-means++ seeding, Lloyd iterations with Hamerly bounds, best of n_init) to the feature arrays of the '
'rows. NULL arrays are skipped (NOTICE); NULL/NaN/Infinity elements, ragged arrays, k above the number of distinct '
'points are errors; NULL over no rows. Memory is bounded by crm.max_fit_memory (use sample_size beyond it).';

CREATE AGGREGATE crm.kmeans_fit(features double precision[], k integer) (
    SFUNC = crm._kmeans_transfn, STYPE = internal,
    COMBINEFUNC = crm._kmeans_combine, SERIALFUNC = crm._kmeans_serial, DESERIALFUNC = crm._kmeans_deserial,
    FINALFUNC = crm._kmeans_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_fit(double precision[], integer) IS
'crm.kmeans_fit with k clusters and the default options (seed 0, n_init 10, z-score scaling).';

CREATE FUNCTION crm.kmeans_assign(model crm.kmeans_model, features double precision[])
RETURNS integer AS 'MODULE_PATHNAME', 'crm_kmeans_assign'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.kmeans_assign(crm.kmeans_model, double precision[]) IS
'Cluster 1..k of a feature array (original units; the model applies its scaling): the nearest centroid.';

CREATE FUNCTION crm.kmeans_distance(model crm.kmeans_model, features double precision[])
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_kmeans_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.kmeans_distance(crm.kmeans_model, double precision[]) IS
'Euclidean distance (in the model''s scaled space) from a feature array to its assigned centroid.';

CREATE FUNCTION crm.kmeans_labels(model crm.kmeans_model)
RETURNS text[] AS 'MODULE_PATHNAME', 'crm_kmeans_labels'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.kmeans_labels(crm.kmeans_model) IS
'Readable label per cluster (element c for cluster c) from each centroid''s profile against the population; CRM '
'names (High-Value, Loyal, At-Risk, New, Low-Value) when the features include recency, frequency and monetary.';

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

CREATE FUNCTION crm.kmeans_info(model crm.kmeans_model,
    OUT version integer, OUT k integer, OUT dims integer, OUT n_points bigint, OUT inertia double precision,
    OUT iterations integer, OUT n_init integer, OUT seed bigint, OUT converged boolean, OUT scale text,
    OUT feature_names text[])
AS 'MODULE_PATHNAME', 'crm_kmeans_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.kmeans_info(crm.kmeans_model) IS
'Summary of a k-means model: version marker, k, dimensions, points fitted, inertia, iterations, starts, seed, '
'convergence, scaling and feature names.';

CREATE FUNCTION crm.kmeans_clusters(model crm.kmeans_model)
RETURNS TABLE (cluster integer, size bigint, wcss double precision, centroid double precision[],
               centroid_scaled double precision[], label text)
AS 'MODULE_PATHNAME', 'crm_kmeans_clusters'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.kmeans_clusters(crm.kmeans_model) IS
'One row per cluster: number 1..k, size, within-cluster sum of squares (scaled space), centroid in original units '
'and in scaled space, readable label.';

CREATE FUNCTION crm.kmeans_silhouette(model crm.kmeans_model, relation regclass, feature_cols name[],
                                      sample_size bigint DEFAULT 10000, seed integer DEFAULT 0)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_kmeans_silhouette'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.kmeans_silhouette(crm.kmeans_model, regclass, name[], bigint, integer) IS
'Mean silhouette coefficient of the model on the rows of relation (columns feature_cols, in the model''s order): '
'exact on up to sample_size rows, else on a uniform sample of sample_size rows (seeded). NULL when undefined (k = 1).';

CREATE FUNCTION crm.kmeans_fit_table(relation regclass, feature_cols name[], k integer,
                                     seed integer DEFAULT 0, n_init integer DEFAULT 10,
                                     scale text DEFAULT 'zscore', sample_size bigint DEFAULT NULL)
RETURNS crm.kmeans_model
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text;
    model crm.kmeans_model;
BEGIN
    IF relation IS NULL OR feature_cols IS NULL OR k IS NULL THEN
        RAISE EXCEPTION 'kmeans_fit_table: relation, feature_cols and k must not be NULL' USING ERRCODE = '22004';
    END IF;
    PERFORM crm._require_relation(relation, 'kmeans_fit_table', 'relation');
    IF cardinality(feature_cols) = 0 OR array_position(feature_cols, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'kmeans_fit_table: feature_cols must name at least one column, none NULL'
            USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(format('%I::double precision', c), ', ' ORDER BY o) INTO cols
    FROM unnest(feature_cols) WITH ORDINALITY u(c, o);
    EXECUTE format('SELECT crm.kmeans_fit(ARRAY[%s], crm.kmeans_options($1, seed => $2, n_init => $3, '
                   'scale => $4, feature_names => $5, sample_size => $6)) FROM %s', cols, relation)
        INTO model USING k, seed, n_init, scale, feature_cols::text[], sample_size;
    RETURN model;
END
$$;
COMMENT ON FUNCTION crm.kmeans_fit_table(regclass, name[], integer, integer, integer, text, bigint) IS
'One call for DBAs: fits k-means to the named numeric columns of a table (their names become the feature names).';

CREATE FUNCTION crm.kmeans_choose_k(relation regclass, feature_cols name[], k_min integer DEFAULT 2,
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
COMMENT ON FUNCTION crm.kmeans_choose_k(regclass, name[], integer, integer, integer, integer, text, bigint) IS
'Helps pick k: fits k = k_min .. k_max and returns each fit''s inertia (look for the elbow) and silhouette (higher is '
'better; sampled on silhouette_sample rows).';

-------------------------------------------------------------------------------
-- k-means: partial states for shards
-------------------------------------------------------------------------------

CREATE FUNCTION crm._kmeans_merge_bytea(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'crm_kmeans_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';

CREATE AGGREGATE crm.kmeans_fit_partial(features double precision[], options crm.kmeans_options) (
    SFUNC = crm._kmeans_transfn, STYPE = internal,
    COMBINEFUNC = crm._kmeans_combine, SERIALFUNC = crm._kmeans_serial, DESERIALFUNC = crm._kmeans_deserial,
    FINALFUNC = crm._kmeans_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_fit_partial(double precision[], crm.kmeans_options) IS
'The state of crm.kmeans_fit as portable, versioned bytes, to combine elsewhere with crm.kmeans_fit_combine (scale-out over shards).';

CREATE AGGREGATE crm.kmeans_fit_partial(features double precision[], k integer) (
    SFUNC = crm._kmeans_transfn, STYPE = internal,
    COMBINEFUNC = crm._kmeans_combine, SERIALFUNC = crm._kmeans_serial, DESERIALFUNC = crm._kmeans_deserial,
    FINALFUNC = crm._kmeans_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_fit_partial(double precision[], integer) IS
'The state of crm.kmeans_fit as portable, versioned bytes, to combine elsewhere with crm.kmeans_fit_combine (scale-out over shards).';

CREATE AGGREGATE crm.kmeans_fit_combine(partial_state bytea) (
    SFUNC = crm._kmeans_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._kmeans_combine, SERIALFUNC = crm._kmeans_serial, DESERIALFUNC = crm._kmeans_deserial,
    FINALFUNC = crm._kmeans_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_fit_combine(bytea) IS
'Combines states from crm.kmeans_fit_partial (for example one per shard) into the result of crm.kmeans_fit. NULL states are skipped.';

-------------------------------------------------------------------------------
-- k-means over shards: one Lloyd step per scatter-gather, and a driver
-------------------------------------------------------------------------------

CREATE FUNCTION crm._kmeans_step_transfn(internal, double precision[], crm.kmeans_model)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_step_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_step_transfn(internal, double precision[], crm.kmeans_model)
IS 'Transition function of crm.kmeans_step (internal).';
CREATE FUNCTION crm._kmeans_step_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_step_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_step_combine(internal, internal) IS 'Combine function of crm.kmeans_step (internal).';
CREATE FUNCTION crm._kmeans_step_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_kmeans_step_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_step_serial(internal) IS 'Serialises the crm.kmeans_step state (internal).';
CREATE FUNCTION crm._kmeans_step_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_step_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._kmeans_step_deserial(bytea, internal) IS 'Reads a serialised crm.kmeans_step state (internal).';
CREATE FUNCTION crm._kmeans_step_final(internal)
RETURNS crm.kmeans_model AS 'MODULE_PATHNAME', 'crm_kmeans_step_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_step_final(internal) IS 'Final function of crm.kmeans_step: the updated model (internal).';
CREATE FUNCTION crm._kmeans_step_merge_bytea(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_kmeans_step_merge_bytea'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._kmeans_step_merge_bytea(internal, bytea) IS 'Merges a serialised Lloyd step (internal).';

CREATE AGGREGATE crm.kmeans_step(features double precision[], model crm.kmeans_model) (
    SFUNC = crm._kmeans_step_transfn, STYPE = internal,
    COMBINEFUNC = crm._kmeans_step_combine, SERIALFUNC = crm._kmeans_step_serial,
    DESERIALFUNC = crm._kmeans_step_deserial, FINALFUNC = crm._kmeans_step_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_step(double precision[], crm.kmeans_model) IS
'One Lloyd iteration: assigns every row to the model''s nearest centroid and returns the model with each centroid '
'moved to the mean of its points (sizes, wcss and inertia of this assignment; iterations + 1). The model must be '
'the same on every row.';
CREATE AGGREGATE crm.kmeans_step_partial(features double precision[], model crm.kmeans_model) (
    SFUNC = crm._kmeans_step_transfn, STYPE = internal,
    COMBINEFUNC = crm._kmeans_step_combine, SERIALFUNC = crm._kmeans_step_serial,
    DESERIALFUNC = crm._kmeans_step_deserial, FINALFUNC = crm._kmeans_step_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_step_partial(double precision[], crm.kmeans_model) IS
'Per-cluster sums and counts of one Lloyd step as bytes (per shard), for crm.kmeans_step_combine.';
CREATE AGGREGATE crm.kmeans_step_combine(partial_state bytea) (
    SFUNC = crm._kmeans_step_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._kmeans_step_combine, SERIALFUNC = crm._kmeans_step_serial,
    DESERIALFUNC = crm._kmeans_step_deserial, FINALFUNC = crm._kmeans_step_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.kmeans_step_combine(bytea) IS
'Combines per-shard Lloyd steps (crm.kmeans_step_partial) into the updated model.';

CREATE FUNCTION crm.kmeans_centroid_shift(a crm.kmeans_model, b crm.kmeans_model)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_kmeans_centroid_shift'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.kmeans_centroid_shift(crm.kmeans_model, crm.kmeans_model) IS
'Sum of squared centroid moves between two models of the same k (in the first model''s scaled space).';

CREATE FUNCTION crm.kmeans_fit_distributed(
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
COMMENT ON FUNCTION crm.kmeans_fit_distributed(regclass, name[], integer, name, integer, integer, double precision, bigint, text, crm.kmeans_model) IS
'k-means over data spread across shards: seeds with k-means++ on a uniform sample read in a fixed order (or starts '
'from initial_model), then runs Lloyd iterations with one '
'scatter-gather each (crm.kmeans_step_partial per shard_col group, combined here) until the centroids move less than '
'tol (sum of squared moves, scaled space) or max_iter. Without shard_col the step runs as a plain aggregate.';
