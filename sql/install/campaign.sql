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
                    THEN crm.campaign_roi(0::numeric, cost)::text
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
-- Campaigns: partial states for shards
-------------------------------------------------------------------------------

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
