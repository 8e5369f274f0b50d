-- crm_analytics 0.1.0: install script.
-- Every object is created in schema crm and every reference is schema-qualified,
-- so a hostile search_path cannot redirect what the extension runs.

\echo Use "CREATE EXTENSION crm_analytics" to load this file. \quit

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
-- Weighted composite customer score
-------------------------------------------------------------------------------

CREATE FUNCTION crm.weighted_score(features double precision[], weights double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'crm_weighted_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION crm.weighted_score(double precision[], double precision[]) IS
'Composite customer score C = sum_j weights[j] * features[j]. Arrays must have equal length; a NULL feature gives '
'NULL; NaN or Infinity is an error. Normalise features first (see docs/rfm.md: z-score or min-max with window '
'functions).';

-------------------------------------------------------------------------------
-- Shared checks of the PL/pgSQL one-call functions
-------------------------------------------------------------------------------

CREATE FUNCTION crm._require_relation(relation regclass, caller text, argument text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A regclass can hold the OID of a dropped table (or any number): such a value would print as
    -- a bare number and make the generated SQL fail with a syntax error instead of 42P01.
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relation) THEN
        RAISE EXCEPTION '%: relation with OID % does not exist (argument %)', caller, relation::oid, argument
            USING ERRCODE = '42P01';
    END IF;
END
$$;
COMMENT ON FUNCTION crm._require_relation(regclass, text, text) IS
'Raises 42P01 when a regclass argument names no relation (internal).';

-------------------------------------------------------------------------------
-- Marketing: campaign ROI and uplift against a control group
-------------------------------------------------------------------------------

CREATE FUNCTION crm.campaign_roi(sales_increase numeric, cost numeric)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF sales_increase = 'NaN'::numeric OR cost = 'NaN'::numeric
       OR sales_increase IN ('Infinity'::numeric, '-Infinity'::numeric)
       OR cost IN ('Infinity'::numeric, '-Infinity'::numeric) THEN
        RAISE EXCEPTION 'campaign_roi: sales_increase and cost must be finite numbers'
            USING ERRCODE = '22023';
    END IF;
    IF cost = 0 THEN
        RAISE EXCEPTION 'campaign_roi: cost must not be zero (ROI is undefined without a cost)'
            USING ERRCODE = '22012';
    END IF;
    IF cost < 0 THEN
        RAISE EXCEPTION 'campaign_roi: cost must be positive, got %', cost
            USING ERRCODE = '22023';
    END IF;
    RETURN (sales_increase - cost) / cost * 100;
END
$$;

COMMENT ON FUNCTION crm.campaign_roi(numeric, numeric) IS
'Campaign ROI in percent: (sales_increase - cost) / cost * 100. sales_increase should be the increase caused by the '
'campaign (incremental revenue against a control group, see crm.campaign_uplift). cost = 0 raises 22012, a negative '
'or non-finite value 22023; NULL in, NULL out.';

CREATE TYPE crm.campaign_uplift AS (
    treated_n bigint,
    control_n bigint,
    treated_mean double precision,
    control_mean double precision,
    uplift double precision,
    incremental_revenue double precision,
    ci_low double precision,
    ci_high double precision,
    p_value double precision,
    confidence double precision,
    skipped_rows bigint);

COMMENT ON TYPE crm.campaign_uplift IS
'Result of crm.campaign_uplift: group sizes and mean revenue per customer, uplift (difference of means), incremental '
'revenue (uplift x treated_n), Welch interval for the uplift at the given confidence and its two-sided p-value; '
'skipped_rows counts rows with a NULL arm or revenue.';

CREATE FUNCTION crm._uplift_transfn(internal, boolean, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_uplift_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._uplift_transfn(internal, boolean, double precision)
IS 'Transition function of crm.campaign_uplift (internal).';

CREATE FUNCTION crm._uplift_transfn(internal, boolean, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_uplift_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._uplift_transfn(internal, boolean, double precision, double precision)
IS 'Transition function of crm.campaign_uplift with a confidence level (internal).';

CREATE FUNCTION crm._uplift_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_uplift_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._uplift_combine(internal, internal)
IS 'Combine function of crm.campaign_uplift for parallel aggregation (internal).';

CREATE FUNCTION crm._uplift_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_uplift_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._uplift_serial(internal)
IS 'Serialises the crm.campaign_uplift state to a versioned, portable byte format (internal).';

CREATE FUNCTION crm._uplift_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_uplift_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._uplift_deserial(bytea, internal)
IS 'Reads a serialised crm.campaign_uplift state (internal).';

CREATE FUNCTION crm._uplift_final(internal)
RETURNS crm.campaign_uplift AS 'MODULE_PATHNAME', 'crm_uplift_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._uplift_final(internal)
IS 'Final function of crm.campaign_uplift: Welch interval and p-value (internal).';

CREATE AGGREGATE crm.campaign_uplift(is_treatment boolean, revenue double precision) (
    SFUNC = crm._uplift_transfn, STYPE = internal,
    COMBINEFUNC = crm._uplift_combine, SERIALFUNC = crm._uplift_serial, DESERIALFUNC = crm._uplift_deserial,
    FINALFUNC = crm._uplift_final, PARALLEL = SAFE);

COMMENT ON AGGREGATE crm.campaign_uplift(boolean, double precision) IS
'Revenue uplift of a campaign over per-customer results: treated vs control mean revenue, incremental revenue, 95% '
'Welch interval and p-value. Rows with a NULL arm or revenue are skipped and counted; NaN/Infinity are errors. '
'Fewer than two rows on a side gives a NULL interval. Use with GROUP BY campaign, segment or both.';

CREATE AGGREGATE crm.campaign_uplift(is_treatment boolean, revenue double precision, confidence double precision) (
    SFUNC = crm._uplift_transfn, STYPE = internal,
    COMBINEFUNC = crm._uplift_combine, SERIALFUNC = crm._uplift_serial, DESERIALFUNC = crm._uplift_deserial,
    FINALFUNC = crm._uplift_final, PARALLEL = SAFE);

COMMENT ON AGGREGATE crm.campaign_uplift(boolean, double precision, double precision) IS
'crm.campaign_uplift with the interval at another confidence level (0 < confidence < 1, the same on every row).';

CREATE TYPE crm.conversion_uplift AS (
    treated_n bigint,
    control_n bigint,
    treated_converted bigint,
    control_converted bigint,
    treated_rate double precision,
    control_rate double precision,
    uplift double precision,
    incremental_conversions double precision,
    ci_low double precision,
    ci_high double precision,
    p_value double precision,
    confidence double precision,
    skipped_rows bigint);

COMMENT ON TYPE crm.conversion_uplift IS
'Result of crm.conversion_uplift: conversion rates per arm, uplift (difference of rates), incremental conversions, '
'Wald interval (unpooled) and the p-value of the pooled two-proportion z-test.';

CREATE FUNCTION crm._conversion_transfn(internal, boolean, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_conversion_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._conversion_transfn(internal, boolean, boolean)
IS 'Transition function of crm.conversion_uplift (internal).';

CREATE FUNCTION crm._conversion_transfn(internal, boolean, boolean, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_conversion_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._conversion_transfn(internal, boolean, boolean, double precision)
IS 'Transition function of crm.conversion_uplift with a confidence level (internal).';

CREATE FUNCTION crm._conversion_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_conversion_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._conversion_combine(internal, internal)
IS 'Combine function of crm.conversion_uplift for parallel aggregation (internal).';

CREATE FUNCTION crm._conversion_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_conversion_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._conversion_serial(internal)
IS 'Serialises the crm.conversion_uplift state (internal).';

CREATE FUNCTION crm._conversion_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_conversion_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._conversion_deserial(bytea, internal)
IS 'Reads a serialised crm.conversion_uplift state (internal).';

CREATE FUNCTION crm._conversion_final(internal)
RETURNS crm.conversion_uplift AS 'MODULE_PATHNAME', 'crm_conversion_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._conversion_final(internal)
IS 'Final function of crm.conversion_uplift (internal).';

CREATE AGGREGATE crm.conversion_uplift(is_treatment boolean, converted boolean) (
    SFUNC = crm._conversion_transfn, STYPE = internal,
    COMBINEFUNC = crm._conversion_combine, SERIALFUNC = crm._conversion_serial,
    DESERIALFUNC = crm._conversion_deserial, FINALFUNC = crm._conversion_final, PARALLEL = SAFE);

COMMENT ON AGGREGATE crm.conversion_uplift(boolean, boolean) IS
'Conversion-rate uplift of a campaign (converted yes/no per customer) with a 95% Wald interval and the pooled '
'two-proportion z-test p-value. Rows with a NULL arm or outcome are skipped and counted.';

CREATE AGGREGATE crm.conversion_uplift(is_treatment boolean, converted boolean, confidence double precision) (
    SFUNC = crm._conversion_transfn, STYPE = internal,
    COMBINEFUNC = crm._conversion_combine, SERIALFUNC = crm._conversion_serial,
    DESERIALFUNC = crm._conversion_deserial, FINALFUNC = crm._conversion_final, PARALLEL = SAFE);

COMMENT ON AGGREGATE crm.conversion_uplift(boolean, boolean, double precision) IS
'crm.conversion_uplift with the interval at another confidence level (0 < confidence < 1, the same on every row).';

CREATE FUNCTION crm.campaign_report(
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
                    THEN crm.campaign_roi(0, cost)::text
                    WHEN roi_ci_low > 0 THEN 'profitable'
                    WHEN roi_ci_high < 0 THEN 'loss'
                    ELSE 'inconclusive' END
        FROM roi ORDER BY campaign $q$,
        campaign_col, treatment_col, revenue_col, results, cost_campaign_col, cost_col, costs)
    USING confidence;
END
$$;

COMMENT ON FUNCTION crm.campaign_report(regclass, name, name, name, regclass, name, name, double precision) IS
'Per campaign: uplift against the control group, incremental revenue, cost (summed from the costs table), ROI % = '
'(incremental revenue - cost) / cost * 100 with its interval (from the Welch interval of the uplift) and a verdict: '
'profitable (whole interval above 0), loss (whole interval below 0), inconclusive otherwise (interval crosses 0, too '
'few rows, no control group, or no positive cost). Campaign keys are returned as text.';

-------------------------------------------------------------------------------
-- Cold chain: temperature prediction, breach forecasting and alerts
-------------------------------------------------------------------------------

CREATE TYPE crm.temp_model AS (
    version integer,
    t0 double precision,
    ambient double precision,
    tau interval,
    start_time timestamptz,
    rmse double precision,
    n_readings bigint,
    converged boolean,
    ambient_fixed boolean,
    note text);

COMMENT ON TYPE crm.temp_model IS
'A fitted Newton warming/cooling curve T(t) = t0 + (ambient - t0)(1 - exp(-(t - start_time)/tau)): version marker '
'(1), parameters, RMSE of the fit, readings used (duplicates averaged), converged flag, whether ambient was given, '
'and a note when not converged (fewer than 3 readings, flat series, did not converge).';

CREATE FUNCTION crm.temp_predict(t0 double precision, ambient double precision, tau interval, elapsed interval)
RETURNS double precision
AS 'MODULE_PATHNAME', 'crm_temp_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION crm.temp_predict(double precision, double precision, interval, interval) IS
'Newton''s law of warming/cooling: t0 + (ambient - t0)(1 - exp(-elapsed/tau)). tau must be positive (22023).';

CREATE FUNCTION crm._series_transfn(internal, timestamptz, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION crm._series_transfn(internal, timestamptz, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION crm._series_transfn(internal, timestamptz, double precision, double precision, double precision,
                                    double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._series_transfn(internal, timestamptz, double precision)
IS 'Transition function of the cold-chain aggregates (internal).';
COMMENT ON FUNCTION crm._series_transfn(internal, timestamptz, double precision, double precision)
IS 'Transition function of the cold-chain aggregates with one parameter (internal).';
COMMENT ON FUNCTION crm._series_transfn(internal, timestamptz, double precision, double precision, double precision,
                                        double precision, double precision)
IS 'Transition function of crm._cold_chain_status (internal).';

CREATE FUNCTION crm._series_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._series_combine(internal, internal)
IS 'Combine function of the cold-chain aggregates (internal).';
CREATE FUNCTION crm._series_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_series_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._series_serial(internal)
IS 'Serialises a cold-chain aggregate state to a versioned, portable byte format (internal).';
CREATE FUNCTION crm._series_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_series_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._series_deserial(bytea, internal)
IS 'Reads a serialised cold-chain aggregate state (internal).';

CREATE FUNCTION crm._temp_fit_final(internal)
RETURNS crm.temp_model AS 'MODULE_PATHNAME', 'crm_temp_fit_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._temp_fit_final(internal)
IS 'Final function of crm.temp_fit: Levenberg-Marquardt fit (internal).';

CREATE AGGREGATE crm.temp_fit(ts timestamptz, temperature double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._temp_fit_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit(timestamptz, double precision) IS
'Fits t0, ambient and tau of Newton''s law to one shipment''s readings (GROUP BY shipment) by Levenberg-Marquardt. '
'Readings in any order; equal timestamps averaged; NULL readings skipped; NaN/Infinity are errors. Fewer than 3 '
'readings or a flat series give a model with converged = false, not an error. NULL over no readings.';

CREATE AGGREGATE crm.temp_fit(ts timestamptz, temperature double precision, ambient double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._temp_fit_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit(timestamptz, double precision, double precision) IS
'crm.temp_fit with a known ambient temperature (the same on every row; NULL: unknown): fits t0 and tau only.';

CREATE FUNCTION crm._time_above_final(internal)
RETURNS interval AS 'MODULE_PATHNAME', 'crm_time_above_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._time_above_final(internal) IS 'Final function of crm.time_above (internal).';
CREATE FUNCTION crm._time_below_final(internal)
RETURNS interval AS 'MODULE_PATHNAME', 'crm_time_below_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._time_below_final(internal) IS 'Final function of crm.time_below (internal).';

CREATE AGGREGATE crm.time_above(ts timestamptz, temperature double precision, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._time_above_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_above(timestamptz, double precision, double precision) IS
'Time the temperature spent strictly above temp_limit, time-weighted for irregular readings: the temperature is '
'taken as linear between consecutive readings and crossings are interpolated. NULL over no readings or a NULL limit.';

CREATE AGGREGATE crm.time_below(ts timestamptz, temperature double precision, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._time_below_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_below(timestamptz, double precision, double precision) IS
'Time the temperature spent strictly below temp_limit (see crm.time_above).';

CREATE FUNCTION crm._mkt_final(internal)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_mkt_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._mkt_final(internal) IS 'Final function of crm.mean_kinetic_temperature (internal).';

CREATE AGGREGATE crm.mean_kinetic_temperature(ts timestamptz, temperature double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._mkt_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature(timestamptz, double precision) IS
'Mean kinetic temperature (degrees Celsius) with activation energy 83.144 kJ/mol, time-weighted for irregular '
'readings (each reading weighs half the gaps to its neighbours; end readings their one gap).';

CREATE AGGREGATE crm.mean_kinetic_temperature(ts timestamptz, temperature double precision,
                                              activation_energy_kj double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._mkt_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature(timestamptz, double precision, double precision) IS
'Mean kinetic temperature with another activation energy in kJ/mol (positive, the same on every row).';

CREATE FUNCTION crm.temp_at(model crm.temp_model, ts timestamptz)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_temp_at'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.temp_at(crm.temp_model, timestamptz) IS
'The fitted curve''s temperature at ts. NULL when the model did not converge.';

CREATE FUNCTION crm.temp_breach_time(model crm.temp_model, temp_limit double precision)
RETURNS timestamptz AS 'MODULE_PATHNAME', 'crm_temp_breach_time'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.temp_breach_time(crm.temp_model, double precision) IS
'First time from the model''s start_time at which the predicted curve reaches temp_limit (an upper limit for a '
'warming curve, a lower one for a cooling curve); start_time if it is already beyond it; NULL if it never gets '
'there (limit at or beyond the ambient) or the model did not converge.';

CREATE FUNCTION crm.temp_breach_time(model crm.temp_model, temp_limit double precision, from_time timestamptz)
RETURNS timestamptz AS 'MODULE_PATHNAME', 'crm_temp_breach_time'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.temp_breach_time(crm.temp_model, double precision, timestamptz) IS
'crm.temp_breach_time searching from from_time instead of the model''s start (from_time itself when already breached).';

CREATE FUNCTION crm.temp_time_to_breach(model crm.temp_model, temp_limit double precision,
                                        from_time timestamptz DEFAULT pg_catalog.now())
RETURNS interval AS 'MODULE_PATHNAME', 'crm_temp_time_to_breach'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.temp_time_to_breach(crm.temp_model, double precision, timestamptz) IS
'Remaining time from from_time (default now()) until the predicted breach of temp_limit: zero when already '
'breached, NULL when it never happens or the model did not converge.';

CREATE TYPE crm.cold_chain_status AS (
    readings bigint,
    first_reading_at timestamptz,
    last_reading_at timestamptz,
    last_temperature double precision,
    model crm.temp_model,
    status text,
    predicted_breach_at timestamptz,
    time_above_upper interval,
    time_below_lower interval,
    mean_kinetic_temperature double precision);

COMMENT ON TYPE crm.cold_chain_status IS
'Status of one shipment computed by crm.cold_chain_alerts.';

CREATE FUNCTION crm._cold_chain_status_final(internal)
RETURNS crm.cold_chain_status AS 'MODULE_PATHNAME', 'crm_cold_chain_status_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._cold_chain_status_final(internal)
IS 'Final function of crm._cold_chain_status (internal).';

CREATE AGGREGATE crm._cold_chain_status(ts timestamptz, temperature double precision, upper_limit double precision,
                                        lower_limit double precision, horizon_seconds double precision,
                                        as_of_epoch double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._cold_chain_status_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm._cold_chain_status(timestamptz, double precision, double precision, double precision,
                                            double precision, double precision) IS
'One shipment''s status for crm.cold_chain_alerts (internal building block; as_of_epoch in seconds since '
'2000-01-01, the timestamptz origin).';

CREATE FUNCTION crm.cold_chain_alerts(
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
    -- Identifiers are quoted (%I); regclass prints a quoted, qualified name.
    RETURN QUERY EXECUTE format($q$
        SELECT g.shipment, (g.s).readings, (g.s).last_reading_at, (g.s).last_temperature, (g.s).status,
               (g.s).predicted_breach_at, (g.s).time_above_upper, (g.s).time_below_lower,
               (g.s).mean_kinetic_temperature, (g.s).model
        FROM (SELECT %1$I::text AS shipment,
                     crm._cold_chain_status(%2$I::timestamptz, %3$I::double precision, $1, $2, $3, $4) AS s
              FROM %4$s WHERE %2$I <= $5 GROUP BY 1) g
        WHERE (g.s).readings IS NOT NULL
        ORDER BY CASE (g.s).status WHEN 'breached' THEN 0 WHEN 'will breach within horizon' THEN 1
                                   WHEN 'insufficient data' THEN 2 ELSE 3 END,
                 (g.s).predicted_breach_at NULLS LAST, g.shipment $q$,
        shipment_col, ts_col, temp_col, readings)
    USING upper_limit, lower_limit, extract(epoch FROM horizon)::double precision,
          extract(epoch FROM as_of - timestamptz '2000-01-01 00:00:00+00')::double precision, as_of;
END
$$;

COMMENT ON FUNCTION crm.cold_chain_alerts(regclass, name, name, name, double precision, interval, double precision,
                                          timestamptz) IS
'Per shipment, from the readings up to as_of: readings, last reading, status (breached: the last reading is beyond a limit; will breach within '
'horizon: the fitted curve reaches a limit before as_of + horizon; insufficient data: fewer than 3 readings or no '
'fit; ok), the predicted breach time, time above the upper and below the lower limit so far, mean kinetic '
'temperature and the fitted model. Most urgent first. Shipment keys are returned as text.';

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
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF k IS NULL THEN
        RAISE EXCEPTION 'kmeans_options: k must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF k < 1 THEN
        RAISE EXCEPTION 'kmeans_options: k must be at least 1, got %', k USING ERRCODE = '22023';
    END IF;
    IF n_init < 1 OR max_iter < 1 THEN
        RAISE EXCEPTION 'kmeans_options: n_init and max_iter must be at least 1' USING ERRCODE = '22023';
    END IF;
    IF tol < 0 OR tol = 'NaN' OR tol = 'Infinity' THEN
        RAISE EXCEPTION 'kmeans_options: tol must be a finite number >= 0, got %', tol USING ERRCODE = '22023';
    END IF;
    IF scale IS NOT NULL AND scale NOT IN ('zscore', 'minmax', 'none') THEN
        RAISE EXCEPTION 'kmeans_options: scale must be zscore, minmax or none, got %', scale USING ERRCODE = '22023';
    END IF;
    IF sample_size < k THEN
        RAISE EXCEPTION 'kmeans_options: sample_size (%) must be at least k (%)', sample_size, k
            USING ERRCODE = '22023';
    END IF;
    RETURN ROW(k, seed, n_init, max_iter, tol, scale, feature_names, sample_size, progress)::crm.kmeans_options;
END
$$;

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
        m := crm.kmeans_fit_table(relation, feature_cols, clusters, seed, n_init, scale, NULL);
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
-- Recommendations: user-based collaborative filtering
-------------------------------------------------------------------------------

CREATE TABLE crm.cf_table_versions (
    relid oid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1);
COMMENT ON TABLE crm.cf_table_versions IS
'Change versions of ratings tables registered with crm.cf_track_changes; bumped by a statement trigger so that '
'backends can keep a rating matrix in memory and know, transactionally, when it is out of date.';
GRANT SELECT, INSERT, UPDATE ON crm.cf_table_versions TO PUBLIC;

CREATE FUNCTION crm._cf_version_only_grows() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Anyone who writes a tracked table must be able to bump its version, but
    -- nobody may set it back (that would make a cached matrix look current).
    NEW.relid := OLD.relid;
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm._cf_version_only_grows() IS 'Keeps crm.cf_table_versions monotonic (internal).';
CREATE TRIGGER version_only_grows BEFORE UPDATE ON crm.cf_table_versions
    FOR EACH ROW EXECUTE FUNCTION crm._cf_version_only_grows();

CREATE FUNCTION crm._cf_version_starts_at_one() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.version := 1;  -- nobody can plant a huge starting version
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm._cf_version_starts_at_one() IS 'New rows of crm.cf_table_versions start at 1 (internal).';
CREATE TRIGGER version_starts_at_one BEFORE INSERT ON crm.cf_table_versions
    FOR EACH ROW EXECUTE FUNCTION crm._cf_version_starts_at_one();

CREATE FUNCTION crm._cf_bump_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO crm.cf_table_versions AS v (relid) VALUES (TG_RELID)
    ON CONFLICT (relid) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm._cf_bump_version() IS 'Statement trigger of tracked ratings tables (internal).';

CREATE FUNCTION crm.cf_track_changes(ratings regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $$
BEGIN
    IF ratings IS NULL THEN
        RAISE EXCEPTION 'cf_track_changes: ratings must not be NULL' USING ERRCODE = '22004';
    END IF;
    EXECUTE format('DROP TRIGGER IF EXISTS crm_cf_track_changes ON %s', ratings);
    EXECUTE format('CREATE TRIGGER crm_cf_track_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION crm._cf_bump_version()', ratings);
    INSERT INTO crm.cf_table_versions AS v (relid) VALUES (ratings)
    ON CONFLICT (relid) DO UPDATE SET version = v.version + 1;
END
$$;
COMMENT ON FUNCTION crm.cf_track_changes(regclass) IS
'Lets backends cache the rating matrix of this table (fast repeated calls): adds a statement trigger that bumps '
'the table''s version on every change. Requires ownership of the table. Without it every call reads the table.';

CREATE FUNCTION crm.cf_predict(
    ratings regclass, user_col name, item_col name, rating_col name,
    users bigint[], items bigint[],
    k integer DEFAULT 40, min_k integer DEFAULT 1, similarity text DEFAULT 'msd')
RETURNS TABLE (user_id bigint, item_id bigint, prediction double precision)
AS 'MODULE_PATHNAME', 'crm_cf_predict'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_predict(regclass, name, name, name, bigint[], bigint[], integer, integer, text) IS
'Predicted ratings of (users[i], items[i]) by mean-centred user-based k-NN (Resnick, as Surprise KNNWithMeans): '
'neighbours are the k users most similar to the user among those who rated the item, similarity > 0; fewer than '
'min_k -> the user''s mean; unknown user or item -> the global mean; clipped to the rating scale. similarity: msd, '
'cosine, pearson, pearson_baseline (shrunk). Duplicate (user, item) rows are averaged; NULL rows skipped.';

CREATE FUNCTION crm.cf_recommend(
    ratings regclass, user_col name, item_col name, rating_col name, target_user bigint,
    n integer DEFAULT 10, k integer DEFAULT 40, neighbours text DEFAULT 'binary')
RETURNS TABLE (item_id bigint, score double precision, popular_fallback boolean, rank integer)
AS 'MODULE_PATHNAME', 'crm_cf_recommend'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_recommend(regclass, name, name, name, bigint, integer, integer, text) IS
'Top-n items the user has not rated, scored by the summed cosine similarity of the user''s k nearest neighbours who '
'have the item (neighbours: binary | full | centered vectors, or co_rated). A user with no history gets the most '
'popular items, popular_fallback = true. Works for explicit ratings and implicit data (purchase counts).';

CREATE FUNCTION crm.cf_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, k integer DEFAULT 40, neighbours text DEFAULT 'binary')
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, popular_fallback boolean)
AS 'MODULE_PATHNAME', 'crm_cf_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_recommend_batch(regclass, name, name, name, bigint[], integer, integer, text) IS
'crm.cf_recommend for many users in one scan of the ratings (users NULL: every user in the table), for nightly jobs '
'that write a recommendations table.';

CREATE FUNCTION crm.cf_evaluate(
    ratings regclass, user_col name, item_col name, rating_col name,
    folds integer DEFAULT 5, k integer DEFAULT 40, similarity text DEFAULT 'msd', seed integer DEFAULT 0,
    relevant_threshold double precision DEFAULT 4, n integer DEFAULT 10)
RETURNS TABLE (fold integer, test_ratings bigint, rmse double precision, mae double precision,
               precision_at_n double precision, recall_at_n double precision)
AS 'MODULE_PATHNAME', 'crm_cf_evaluate'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_evaluate(regclass, name, name, name, integer, integer, text, integer, double precision, integer) IS
'k-fold cross-validation in the database: per fold the RMSE and MAE of crm.cf_predict on the held-out ratings and '
'precision@n / recall@n of crm.cf_recommend (relevant = held-out rating >= relevant_threshold). Random split seeded '
'by seed (the same on every platform).';

-------------------------------------------------------------------------------
-- Ready-to-query results for BI: refresh without blocking readers
-------------------------------------------------------------------------------

CREATE PROCEDURE crm.refresh_all(matviews regclass[])
LANGUAGE plpgsql
-- No SET search_path here: a procedure with SET clauses cannot COMMIT. Every
-- reference is schema-qualified instead, and a regclass prints a name that
-- resolves to the same relation under the caller's search_path.
AS $$
DECLARE
    v regclass;
    populated boolean;
BEGIN
    IF matviews IS NULL THEN
        RAISE EXCEPTION 'refresh_all: matviews must not be NULL' USING ERRCODE = '22004';
    END IF;
    FOREACH v IN ARRAY matviews LOOP
        SELECT c.relispopulated INTO populated
        FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) v AND c.relkind OPERATOR(pg_catalog.=) 'm';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'refresh_all: % is not a materialized view', v USING ERRCODE = '42809';
        END IF;
        -- CONCURRENTLY keeps the old contents readable until the new ones are
        -- in place (it needs a unique index); a never-populated view cannot be
        -- refreshed concurrently, so its first refresh is a plain one.
        IF populated THEN
            EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', v);
        ELSE
            EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %s', v);
        END IF;
        COMMIT;  -- one view at a time: locks are held only while that view is refreshed
    END LOOP;
END
$$;

COMMENT ON PROCEDURE crm.refresh_all(regclass[]) IS
'Refreshes the given materialized views (for example customer segments, top-N recommendations, campaign report, '
'cold-chain status built on crm functions) one by one with REFRESH MATERIALIZED VIEW CONCURRENTLY, committing '
'after each: readers keep reading the previous contents, never an empty view. Each view needs a unique index. '
'Call it from pg_cron: SELECT cron.schedule(''crm-refresh'', ''0 3 * * *'', $$CALL crm.refresh_all(...)$$).';

-------------------------------------------------------------------------------
-- Scale-out: <aggregate>_partial returns the state as bytea (run it on each
-- shard, e.g. through postgres_fdw); <aggregate>_combine(bytea) merges the
-- partial states on the coordinator and finishes as the aggregate would.
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

CREATE FUNCTION crm._uplift_merge_bytea(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'crm_uplift_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._uplift_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';

CREATE AGGREGATE crm.campaign_uplift_partial(is_treatment boolean, revenue double precision) (
    SFUNC = crm._uplift_transfn, STYPE = internal,
    COMBINEFUNC = crm._uplift_combine, SERIALFUNC = crm._uplift_serial, DESERIALFUNC = crm._uplift_deserial,
    FINALFUNC = crm._uplift_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.campaign_uplift_partial(boolean, double precision) IS
'The state of crm.campaign_uplift as portable, versioned bytes, to combine elsewhere with crm.campaign_uplift_combine (scale-out over shards).';

CREATE AGGREGATE crm.campaign_uplift_partial(is_treatment boolean, revenue double precision, confidence double precision) (
    SFUNC = crm._uplift_transfn, STYPE = internal,
    COMBINEFUNC = crm._uplift_combine, SERIALFUNC = crm._uplift_serial, DESERIALFUNC = crm._uplift_deserial,
    FINALFUNC = crm._uplift_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.campaign_uplift_partial(boolean, double precision, double precision) IS
'The state of crm.campaign_uplift as portable, versioned bytes, to combine elsewhere with crm.campaign_uplift_combine (scale-out over shards).';

CREATE AGGREGATE crm.campaign_uplift_combine(partial_state bytea) (
    SFUNC = crm._uplift_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._uplift_combine, SERIALFUNC = crm._uplift_serial, DESERIALFUNC = crm._uplift_deserial,
    FINALFUNC = crm._uplift_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.campaign_uplift_combine(bytea) IS
'Combines states from crm.campaign_uplift_partial (for example one per shard) into the result of crm.campaign_uplift. NULL states are skipped.';

CREATE FUNCTION crm._conversion_merge_bytea(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'crm_conversion_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._conversion_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';

CREATE AGGREGATE crm.conversion_uplift_partial(is_treatment boolean, converted boolean) (
    SFUNC = crm._conversion_transfn, STYPE = internal,
    COMBINEFUNC = crm._conversion_combine, SERIALFUNC = crm._conversion_serial, DESERIALFUNC = crm._conversion_deserial,
    FINALFUNC = crm._conversion_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.conversion_uplift_partial(boolean, boolean) IS
'The state of crm.conversion_uplift as portable, versioned bytes, to combine elsewhere with crm.conversion_uplift_combine (scale-out over shards).';

CREATE AGGREGATE crm.conversion_uplift_partial(is_treatment boolean, converted boolean, confidence double precision) (
    SFUNC = crm._conversion_transfn, STYPE = internal,
    COMBINEFUNC = crm._conversion_combine, SERIALFUNC = crm._conversion_serial, DESERIALFUNC = crm._conversion_deserial,
    FINALFUNC = crm._conversion_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.conversion_uplift_partial(boolean, boolean, double precision) IS
'The state of crm.conversion_uplift as portable, versioned bytes, to combine elsewhere with crm.conversion_uplift_combine (scale-out over shards).';

CREATE AGGREGATE crm.conversion_uplift_combine(partial_state bytea) (
    SFUNC = crm._conversion_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._conversion_combine, SERIALFUNC = crm._conversion_serial, DESERIALFUNC = crm._conversion_deserial,
    FINALFUNC = crm._conversion_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.conversion_uplift_combine(bytea) IS
'Combines states from crm.conversion_uplift_partial (for example one per shard) into the result of crm.conversion_uplift. NULL states are skipped.';

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

CREATE FUNCTION crm._series_merge_bytea(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'crm_series_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._series_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';

CREATE AGGREGATE crm.temp_fit_partial(ts timestamptz, temperature double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit_partial(timestamptz, double precision) IS
'The state of crm.temp_fit as portable, versioned bytes, to combine elsewhere with crm.temp_fit_combine (scale-out over shards).';

CREATE AGGREGATE crm.temp_fit_partial(ts timestamptz, temperature double precision, ambient double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit_partial(timestamptz, double precision, double precision) IS
'The state of crm.temp_fit as portable, versioned bytes, to combine elsewhere with crm.temp_fit_combine (scale-out over shards).';

CREATE AGGREGATE crm.temp_fit_combine(partial_state bytea) (
    SFUNC = crm._series_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._temp_fit_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.temp_fit_combine(bytea) IS
'Combines states from crm.temp_fit_partial (for example one per shard) into the result of crm.temp_fit. NULL states are skipped.';

CREATE AGGREGATE crm.time_above_partial(ts timestamptz, temperature double precision, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_above_partial(timestamptz, double precision, double precision) IS
'The state of crm.time_above as portable, versioned bytes, to combine elsewhere with crm.time_above_combine (scale-out over shards).';

CREATE AGGREGATE crm.time_above_combine(partial_state bytea) (
    SFUNC = crm._series_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._time_above_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_above_combine(bytea) IS
'Combines states from crm.time_above_partial (for example one per shard) into the result of crm.time_above. NULL states are skipped.';

CREATE AGGREGATE crm.time_below_partial(ts timestamptz, temperature double precision, temp_limit double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_below_partial(timestamptz, double precision, double precision) IS
'The state of crm.time_below as portable, versioned bytes, to combine elsewhere with crm.time_below_combine (scale-out over shards).';

CREATE AGGREGATE crm.time_below_combine(partial_state bytea) (
    SFUNC = crm._series_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._time_below_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.time_below_combine(bytea) IS
'Combines states from crm.time_below_partial (for example one per shard) into the result of crm.time_below. NULL states are skipped.';

CREATE AGGREGATE crm.mean_kinetic_temperature_partial(ts timestamptz, temperature double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature_partial(timestamptz, double precision) IS
'The state of crm.mean_kinetic_temperature as portable, versioned bytes, to combine elsewhere with crm.mean_kinetic_temperature_combine (scale-out over shards).';

CREATE AGGREGATE crm.mean_kinetic_temperature_partial(ts timestamptz, temperature double precision, activation_energy_kj double precision) (
    SFUNC = crm._series_transfn, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._series_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature_partial(timestamptz, double precision, double precision) IS
'The state of crm.mean_kinetic_temperature as portable, versioned bytes, to combine elsewhere with crm.mean_kinetic_temperature_combine (scale-out over shards).';

CREATE AGGREGATE crm.mean_kinetic_temperature_combine(partial_state bytea) (
    SFUNC = crm._series_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._series_combine, SERIALFUNC = crm._series_serial, DESERIALFUNC = crm._series_deserial,
    FINALFUNC = crm._mkt_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.mean_kinetic_temperature_combine(bytea) IS
'Combines states from crm.mean_kinetic_temperature_partial (for example one per shard) into the result of crm.mean_kinetic_temperature. NULL states are skipped.';

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
    IF max_iter < 1 OR tol < 0 OR tol = 'NaN' THEN
        RAISE EXCEPTION 'kmeans_fit_distributed: need max_iter >= 1 and tol >= 0' USING ERRCODE = '22023';
    END IF;
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
