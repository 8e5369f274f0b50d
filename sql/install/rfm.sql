-------------------------------------------------------------------------------
-- RFM segmentation: one-call form
-------------------------------------------------------------------------------

CREATE FUNCTION crm.rfm_analyze(
    orders regclass,
    customer_col name,
    date_col name,
    amount_col name,
    as_of timestamptz DEFAULT pg_catalog.now(),
    bins integer DEFAULT 5,
    method text DEFAULT 'quantile',
    segment_map jsonb DEFAULT NULL)
RETURNS TABLE (
    customer_key bigint,
    recency_days integer,
    frequency bigint,
    monetary double precision,
    r_score integer,
    f_score integer,
    m_score integer,
    rfm_cell text,
    segment text)
AS 'MODULE_PATHNAME', 'crm_rfm_analyze'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;

COMMENT ON FUNCTION crm.rfm_analyze(regclass, name, name, name, timestamptz, integer, text, jsonb) IS
'RFM analysis of an orders table: one row per customer with recency (days since the last order as of as_of), '
'frequency (orders), monetary (total amount), R/F/M scores 1..bins (recent is best), the RFM cell and a named '
'segment. method: quantile (type-7 cut points, equal values get equal scores) or ntile (SQL NTILE semantics). '
'Customer keys come back as bigint (integer key columns); for text or uuid keys use crm.rfm_analyze_typed.';

CREATE FUNCTION crm.rfm_analyze_typed(
    orders regclass,
    customer_col name,
    date_col name,
    amount_col name,
    key_type anyelement,
    as_of timestamptz DEFAULT pg_catalog.now(),
    bins integer DEFAULT 5,
    method text DEFAULT 'quantile',
    segment_map jsonb DEFAULT NULL)
RETURNS TABLE (
    customer_key anyelement,
    recency_days integer,
    frequency bigint,
    monetary double precision,
    r_score integer,
    f_score integer,
    m_score integer,
    rfm_cell text,
    segment text)
AS 'MODULE_PATHNAME', 'crm_rfm_analyze'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;

COMMENT ON FUNCTION crm.rfm_analyze_typed(regclass, name, name, name, anyelement, timestamptz, integer, text, jsonb) IS
'crm.rfm_analyze with customer keys of the type of key_type (pass NULL::text, NULL::uuid, NULL::integer, ...), so '
'the result joins to a customers table with text or uuid keys directly.';

-------------------------------------------------------------------------------
-- RFM segmentation: composable two-step form
-------------------------------------------------------------------------------

CREATE TYPE crm.rfm_thresholds AS (
    bins integer,
    customers bigint,
    recency_cuts double precision[],
    frequency_cuts double precision[],
    monetary_cuts double precision[]);

COMMENT ON TYPE crm.rfm_thresholds IS
'Cut points learned by the crm.rfm_thresholds aggregate: bins - 1 per measure, at the 1/bins .. (bins-1)/bins '
'quantiles (type 7). Store it to score new customers consistently later.';

CREATE TYPE crm.rfm_score AS (
    r_score integer,
    f_score integer,
    m_score integer,
    rfm_cell text,
    segment text);

COMMENT ON TYPE crm.rfm_score IS 'R, F and M scores, the RFM cell and the named segment of one customer.';

CREATE FUNCTION crm._rfm_thresholds_transfn(internal, double precision, double precision, double precision, integer)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_transfn(internal, double precision, double precision, double precision, integer)
IS 'Transition function of crm.rfm_thresholds (internal).';

CREATE FUNCTION crm._rfm_thresholds_transfn(internal, double precision, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_transfn(internal, double precision, double precision, double precision)
IS 'Transition function of crm.rfm_thresholds with 5 bins (internal).';

CREATE FUNCTION crm._rfm_thresholds_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_combine(internal, internal)
IS 'Combine function of crm.rfm_thresholds for parallel aggregation (internal).';

CREATE FUNCTION crm._rfm_thresholds_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._rfm_thresholds_serial(internal)
IS 'Serialises the crm.rfm_thresholds state to a versioned, portable byte format (internal).';

CREATE FUNCTION crm._rfm_thresholds_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._rfm_thresholds_deserial(bytea, internal)
IS 'Reads a serialised crm.rfm_thresholds state (internal).';

CREATE FUNCTION crm._rfm_thresholds_final(internal)
RETURNS crm.rfm_thresholds AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_final(internal)
IS 'Final function of crm.rfm_thresholds: computes the quantile cut points (internal).';

CREATE AGGREGATE crm.rfm_thresholds(recency_days double precision, frequency double precision,
                                    monetary double precision, bins integer) (
    SFUNC = crm._rfm_thresholds_transfn,
    STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_combine,
    SERIALFUNC = crm._rfm_thresholds_serial,
    DESERIALFUNC = crm._rfm_thresholds_deserial,
    FINALFUNC = crm._rfm_thresholds_final,
    PARALLEL = SAFE);

COMMENT ON AGGREGATE crm.rfm_thresholds(double precision, double precision, double precision, integer) IS
'Learns RFM score cut points (quantiles, type 7) from per-customer recency_days, frequency and monetary values. '
'Rows with a NULL value are ignored; NULL over no rows. bins (2..10) must be the same on every row.';

CREATE AGGREGATE crm.rfm_thresholds(recency_days double precision, frequency double precision,
                                    monetary double precision) (
    SFUNC = crm._rfm_thresholds_transfn,
    STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_combine,
    SERIALFUNC = crm._rfm_thresholds_serial,
    DESERIALFUNC = crm._rfm_thresholds_deserial,
    FINALFUNC = crm._rfm_thresholds_final,
    PARALLEL = SAFE);

COMMENT ON AGGREGATE crm.rfm_thresholds(double precision, double precision, double precision) IS
'Learns RFM score cut points with 5 bins (quintiles). See crm.rfm_thresholds(float8, float8, float8, integer).';

CREATE FUNCTION crm.rfm_score(
    thresholds crm.rfm_thresholds,
    recency_days double precision,
    frequency double precision,
    monetary double precision,
    segment_map jsonb DEFAULT NULL)
RETURNS crm.rfm_score
AS 'MODULE_PATHNAME', 'crm_rfm_score'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

COMMENT ON FUNCTION crm.rfm_score(crm.rfm_thresholds, double precision, double precision, double precision, jsonb) IS
'Scores one customer against stored thresholds: R, F, M scores (right-closed intervals, recent is best), RFM cell '
'and segment (default 10-segment grid, or segment_map). NULL when any input is NULL. Use it in FROM or LATERAL '
'so it is evaluated once per row.';

CREATE FUNCTION crm.rfm_segment(
    r_score integer,
    f_score integer,
    bins integer DEFAULT 5,
    segment_map jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'crm_rfm_segment'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

COMMENT ON FUNCTION crm.rfm_segment(integer, integer, integer, jsonb) IS
'Named segment of an (R, F) score pair: the default 10-segment grid (Champions .. Hibernating) or a segment_map '
'such as {"Champions": ["5[4-5]"], ...} that must cover every cell exactly once. NULL when a score is NULL.';

CREATE FUNCTION crm.rfm_default_segment_map()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT '{"Champions": ["5[4-5]"], "Loyal Customers": ["[3-4][4-5]"], "Potential Loyalists": ["[4-5][2-3]"],
         "New Customers": ["51"], "Promising": ["41"], "Need Attention": ["33"], "About To Sleep": ["3[1-2]"],
         "Can''t Lose Them": ["[1-2]5"], "At Risk": ["[1-2][3-4]"], "Hibernating": ["[1-2][1-2]"]}'::jsonb
$$;

COMMENT ON FUNCTION crm.rfm_default_segment_map() IS
'The default segment map as jsonb (first digit R, second F): a starting point for a custom segment_map.';

-------------------------------------------------------------------------------
-- RFM: partial states for shards (see scaling.md)
-------------------------------------------------------------------------------

CREATE FUNCTION crm._rfm_thresholds_merge_bytea(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'crm_rfm_thresholds_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._rfm_thresholds_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';

CREATE AGGREGATE crm.rfm_thresholds_partial(recency_days double precision, frequency double precision, monetary double precision, bins integer) (
    SFUNC = crm._rfm_thresholds_transfn, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_combine, SERIALFUNC = crm._rfm_thresholds_serial, DESERIALFUNC = crm._rfm_thresholds_deserial,
    FINALFUNC = crm._rfm_thresholds_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_partial(double precision, double precision, double precision, integer) IS
'The state of crm.rfm_thresholds as portable, versioned bytes, to combine elsewhere with crm.rfm_thresholds_combine (scale-out over shards).';

CREATE AGGREGATE crm.rfm_thresholds_partial(recency_days double precision, frequency double precision, monetary double precision) (
    SFUNC = crm._rfm_thresholds_transfn, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_combine, SERIALFUNC = crm._rfm_thresholds_serial, DESERIALFUNC = crm._rfm_thresholds_deserial,
    FINALFUNC = crm._rfm_thresholds_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_partial(double precision, double precision, double precision) IS
'The state of crm.rfm_thresholds as portable, versioned bytes, to combine elsewhere with crm.rfm_thresholds_combine (scale-out over shards).';

CREATE AGGREGATE crm.rfm_thresholds_combine(partial_state bytea) (
    SFUNC = crm._rfm_thresholds_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._rfm_thresholds_combine, SERIALFUNC = crm._rfm_thresholds_serial, DESERIALFUNC = crm._rfm_thresholds_deserial,
    FINALFUNC = crm._rfm_thresholds_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.rfm_thresholds_combine(bytea) IS
'Combines states from crm.rfm_thresholds_partial (for example one per shard) into the result of crm.rfm_thresholds. NULL states are skipped.';

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
