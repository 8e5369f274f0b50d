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
