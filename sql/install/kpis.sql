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
