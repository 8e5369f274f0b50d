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
            FROM sizes s, generate_series(s.cohort, (SELECT max(p) FROM o),
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
