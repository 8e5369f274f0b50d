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

COMMENT ON FUNCTION crm.cold_chain_alerts(regclass, name, name, name, double precision, interval, double precision,
                                          timestamptz) IS
'Per shipment, from the readings up to as_of: readings, last reading, status (breached: the last reading is beyond a limit; will breach within '
'horizon: the fitted curve reaches a limit before as_of + horizon; insufficient data: fewer than 3 readings or no '
'fit; ok), the predicted breach time, time above the upper and below the lower limit so far, mean kinetic '
'temperature and the fitted model. Most urgent first. Shipment keys are returned as text.';

-------------------------------------------------------------------------------
-- Cold chain: partial states for shards
-------------------------------------------------------------------------------

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
