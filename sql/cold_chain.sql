-- Cold chain: the formula, fits, breach forecasts, measures and alerts.
\set VERBOSITY terse
SET TimeZone = 'UTC';

-- T(t) = T0 + (Ta - T0)(1 - e^(-t/tau)): 4 + (25 - 4)(1 - e^-1) = 17.27...
SELECT round(crm.temp_predict(4, 25, '1 hour', '1 hour')::numeric, 9) AS one_tau,
       crm.temp_predict(4, 25, '1 hour', '0') AS at_start,
       round(crm.temp_predict(4, 25, '30 minutes', '10 hours')::numeric, 6) AS long_after;
SELECT sqlstate_of($$SELECT crm.temp_predict(4, 25, '0', '1 hour')$$);
SELECT sqlstate_of($$SELECT crm.temp_predict(4, 25, '-1 hour', '1 hour')$$);
SELECT sqlstate_of($$SELECT crm.temp_predict('NaN', 25, '1 hour', '1 hour')$$);

-- Noise-free readings of known curves, every 5 minutes for 3 hours, in random order:
-- shipment 1 warms from 3 towards 20 with tau = 2 h; shipment 2 cools from 15 towards 2 with tau = 40 min.
CREATE TABLE readings (shipment int, ts timestamptz, temp float8);
INSERT INTO readings
SELECT s, timestamptz '2025-03-01 08:00' + m * interval '1 minute',
       CASE s WHEN 1 THEN crm.temp_predict(3, 20, '2 hours', m * interval '1 minute')
              ELSE crm.temp_predict(15, 2, '40 minutes', m * interval '1 minute') END
FROM generate_series(1, 2) s, generate_series(0, 180, 5) m
ORDER BY md5(s::text || m::text);
-- Duplicated and NULL readings change nothing.
INSERT INTO readings SELECT shipment, ts, temp FROM readings WHERE ts = '2025-03-01 09:00';
INSERT INTO readings VALUES (1, NULL, 5), (1, '2025-03-01 09:01', NULL);

SELECT shipment, round((m).t0::numeric, 6) AS t0, round((m).ambient::numeric, 6) AS ambient,
       date_trunc('second', (m).tau + interval '0.5 second') AS tau, (m).start_time,
       (m).rmse < 1e-6 AS exact, (m).n_readings, (m).converged, (m).ambient_fixed, (m).note, (m).version
FROM (SELECT shipment, crm.temp_fit(ts, temp) AS m FROM readings GROUP BY shipment) f ORDER BY shipment;

-- Known ambient: a two-parameter fit.
SELECT round((m).t0::numeric, 6) AS t0, (m).ambient, date_trunc('second', (m).tau + interval '0.5 second') AS tau,
       (m).ambient_fixed
FROM (SELECT crm.temp_fit(ts, temp, 20) AS m FROM readings WHERE shipment = 1) f;

-- Stored models: predict, breach time (closed form: start + tau ln((Ta - T0)/(Ta - L))) and time to breach.
CREATE TABLE models AS SELECT shipment, crm.temp_fit(ts, temp) AS model FROM readings GROUP BY shipment;
SELECT round(crm.temp_at(model, '2025-03-01 10:00')::numeric, 6) AS at_10,
       round(crm.temp_predict(3, 20, '2 hours', '2 hours')::numeric, 6) AS expected
FROM models WHERE shipment = 1;
SELECT date_trunc('second', crm.temp_breach_time(model, 8) + interval '0.5 second') AS breach_8,
       timestamptz '2025-03-01 08:00' + 2 * ln((20 - 3) / (20 - 8.0)) * interval '1 hour' AS expected,
       crm.temp_breach_time(model, 25) IS NULL AS never_above_ambient,
       crm.temp_breach_time(model, 2) AS already_beyond_at_start
FROM models WHERE shipment = 1;
SELECT date_trunc('second', crm.temp_time_to_breach(model, 8, '2025-03-01 08:30') + interval '0.5 second') AS time_to_8,
       crm.temp_time_to_breach(model, 4, '2025-03-01 09:30') AS already,
       crm.temp_time_to_breach(model, 30, '2025-03-01 09:30') IS NULL AS never
FROM models WHERE shipment = 1;
-- The cooling shipment reaches a lower limit.
SELECT date_trunc('second', crm.temp_breach_time(model, 4) + interval '0.5 second') AS breach_4,
       timestamptz '2025-03-01 08:00' + 40 * ln((2 - 15) / (2 - 4.0)) * interval '1 minute' AS expected
FROM models WHERE shipment = 2;

-- Not converged: too few readings, flat series; temp_at is NULL then.
SELECT (m).converged, (m).note, (m).n_readings, (m).t0, crm.temp_at(m, now()) IS NULL AS no_prediction
FROM (SELECT crm.temp_fit(ts, temp) AS m FROM (VALUES ('2025-01-01 00:00'::timestamptz, 4.0::float8),
      ('2025-01-01 00:05', 4.2)) v(ts, temp)) f;
SELECT (m).converged, (m).note, (m).t0, (m).ambient
FROM (SELECT crm.temp_fit(ts, 5.0) AS m FROM generate_series(timestamptz '2025-01-01', '2025-01-02', '1 hour') ts) f;
SELECT crm.temp_fit(ts, temp) IS NULL AS no_readings_gives_null FROM readings WHERE false;

-- Time above/below a limit, time-weighted with interpolated crossings:
-- 0 at 00:00, 10 at 01:00, 0 at 03:00; above 5 from 00:30 to 02:00 = 1 h 30 min.
CREATE TABLE tri (ts timestamptz, temp float8);
INSERT INTO tri VALUES ('2025-01-01 00:00', 0), ('2025-01-01 01:00', 10), ('2025-01-01 03:00', 0);
SELECT crm.time_above(ts, temp, 5) AS above_5, crm.time_below(ts, temp, 5) AS below_5,
       crm.time_above(ts, temp, 20) AS above_20 FROM tri;

-- Mean kinetic temperature: 20 and 30 degrees equally spaced, dH/R = 83144 / 8.314462618 K:
-- MKT = (dH/R) / -ln((e^(-dH/(R 293.15)) + e^(-dH/(R 303.15))) / 2) - 273.15 = 26.2599...
SELECT round(crm.mean_kinetic_temperature(ts, temp)::numeric, 4) AS mkt,
       round(((83144 / 8.314462618) / -ln((exp(-83144 / (8.314462618 * 293.15)) + exp(-83144 / (8.314462618 * 303.15))) / 2)
              - 273.15)::numeric, 4) AS by_hand
FROM (VALUES ('2025-01-01 00:00'::timestamptz, 20.0::float8), ('2025-01-01 01:00', 30.0)) v(ts, temp);
SELECT round(crm.mean_kinetic_temperature(ts, 5.0)::numeric, 9) AS constant_series,
       crm.mean_kinetic_temperature(ts, 5.0, 60.0) > 4.999 AS other_energy
FROM generate_series(timestamptz '2025-01-01', '2025-01-02', '1 hour') ts;

-- Alerts as of 08:40 (later readings are ignored): shipment 1 warms towards 20 and crosses 8 at
-- about 08:41:48 (see above); 2 cools from 15 towards 2 and is above 8 until about 08:31;
-- 3 is flat at 1 (below the lower limit 2); 4 and 5 have no readings yet.
INSERT INTO readings SELECT 3, ts, 1.0 FROM generate_series(timestamptz '2025-03-01 08:00', '2025-03-01 11:00', '10 minutes') ts;
INSERT INTO readings VALUES (4, '2025-03-01 10:00', 9.5), (4, '2025-03-01 10:30', 9.0), (4, '2025-03-01 11:00', 8.6);
INSERT INTO readings VALUES (5, '2025-03-01 10:55', 4.0);
SELECT shipment, n_readings, last_reading_at, round(last_temperature::numeric, 3) AS last_temp, status,
       date_trunc('minute', predicted_breach_at) AS predicted_breach_at, time_above_upper, time_below_lower,
       round(mean_kinetic_temperature::numeric, 2) AS mkt
FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', upper_limit => 8, lower_limit => 2,
                           horizon => '2 hours', as_of => '2025-03-01 08:40');
-- As of 11:00 with only an upper limit: 1 is above it (13.4), 2 cooled below, 3 is flat,
-- 4 is above it and cooling, 5 has one reading.
SELECT shipment, status FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 8,
                                                   as_of => '2025-03-01 11:00') ORDER BY shipment;

-- Integer keys are grouped as they are, other keys by their text: the same rows either way.
CREATE TABLE readings_by_text AS SELECT shipment::text AS shipment, ts, temp FROM readings;
SELECT (SELECT array_agg(a ORDER BY a.shipment)::text FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 8,
                                                                                as_of => '2025-03-01 11:00') a)
     = (SELECT array_agg(a ORDER BY a.shipment)::text FROM crm.cold_chain_alerts('readings_by_text', 'shipment', 'ts', 'temp', 8,
                                                                                as_of => '2025-03-01 11:00') a)
       AS int_and_text_keys_agree;

-- Parallel: Partial Aggregate under Gather; same fit as serial.
CREATE TABLE many AS
SELECT s AS shipment, timestamptz '2025-01-01' + m * interval '1 minute' AS ts,
       crm.temp_predict(2 + s % 5, 18, '90 minutes', m * interval '1 minute') + ((m * 7919) % 13 - 6) / 100.0 AS temp
FROM generate_series(1, 40) s, generate_series(0, 600, 2) m;
ANALYZE many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT crm.temp_fit(ts, temp), crm.time_above(ts, temp, 8), crm.mean_kinetic_temperature(ts, temp) FROM many;
-- The parallel plan's result equals the serial one, to the last bit (the
-- readings are sorted before the fit), whether or not workers launch.
SET max_parallel_workers_per_gather = 0;
SELECT crm.temp_fit(ts, temp)::text AS serial_fit, crm.time_above(ts, temp, 8) AS serial_above,
       crm.mean_kinetic_temperature(ts, temp) AS serial_mkt FROM many WHERE shipment = 7 \gset
SET max_parallel_workers_per_gather = 2;
SELECT crm.temp_fit(ts, temp)::text = :'serial_fit' AS same_fit, crm.time_above(ts, temp, 8) = :'serial_above' AS same_time_above,
       crm.mean_kinetic_temperature(ts, temp) = :serial_mkt AS same_mkt
FROM many WHERE shipment = 7;
RESET max_parallel_workers_per_gather;

-- Each reading reaches its group's state through a batch of 2,048 rows shared by all groups (see
-- ReadingBatch in src/core/series_accumulator.hpp). Whatever frees the states (the end of a sorted
-- group, a hash table spilling to disk, a window frame restarting, grouping sets, a rescan, an error),
-- every group gets exactly its own readings: the model's reading count equals count(*), and the hash,
-- sorted, spilling and one-group-at-a-time plans give the same fits.
CREATE TABLE fleet AS
SELECT s AS shipment, timestamptz '2025-01-01' + m * interval '1 minute' AS ts,
       crm.temp_predict(2 + s % 5, 18, '90 minutes', m * interval '1 minute') + ((m * 7919 + s) % 13 - 6) / 100.0 AS temp
FROM generate_series(0, 600, 3) m, generate_series(1, 300) s;  -- readings interleaved in time across shipments
ANALYZE fleet;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE fleet_hashed AS
SELECT shipment, count(*) AS n, crm.temp_fit(ts, temp) AS fit, crm.time_above(ts, temp, 8) AS above FROM fleet GROUP BY shipment;
SET enable_hashagg = off;
CREATE TEMP TABLE fleet_sorted AS
SELECT shipment, crm.temp_fit(ts, temp) AS fit, crm.time_above(ts, temp, 8) AS above FROM fleet GROUP BY shipment;
RESET enable_hashagg;
SET work_mem = '64kB';
SET enable_sort = off;  -- a hash table that spills its groups to disk in several batches
CREATE TEMP TABLE fleet_spilled AS
SELECT shipment, crm.temp_fit(ts, temp) AS fit, crm.time_above(ts, temp, 8) AS above FROM fleet GROUP BY shipment;
RESET enable_sort;
RESET work_mem;
SELECT count(*) AS shipments, count(*) FILTER (WHERE (h.fit).n_readings = h.n AND h.n = 201) AS every_reading_counted,
       count(*) FILTER (WHERE h.fit::text = s.fit::text AND h.fit::text = p.fit::text
                          AND h.above = s.above AND h.above = p.above) AS plans_agree,
       count(*) FILTER (WHERE abs((h.fit).t0 - (2 + h.shipment % 5)) < 0.1 AND abs((h.fit).ambient - 18) < 0.1) AS fits_recover_curve
FROM fleet_hashed h JOIN fleet_sorted s USING (shipment) JOIN fleet_spilled p USING (shipment);
-- One group at a time: the aggregate is rescanned for every outer row.
SELECT count(*) AS rescanned, count(*) FILTER (WHERE l.fit = h.fit::text) AS agree
FROM fleet_hashed h, LATERAL (SELECT crm.temp_fit(ts, temp)::text AS fit FROM fleet f WHERE f.shipment = h.shipment) l
WHERE h.shipment <= 12;
-- Grouping sets (one memory context per set): each level equals its own GROUP BY.
SELECT count(*) AS grouping_rows,
       count(*) FILTER (WHERE g.fit = coalesce(h.fit::text, d.fit, t.fit)) AS agree_with_each_level
FROM (SELECT shipment % 10 AS decile, shipment, crm.temp_fit(ts, temp)::text AS fit
      FROM fleet GROUP BY ROLLUP (shipment % 10, shipment)) g
LEFT JOIN fleet_hashed h ON h.shipment = g.shipment
LEFT JOIN (SELECT shipment % 10 AS decile, crm.temp_fit(ts, temp)::text AS fit FROM fleet GROUP BY 1) d
       ON g.shipment IS NULL AND d.decile = g.decile
LEFT JOIN (SELECT crm.temp_fit(ts, temp)::text AS fit FROM fleet) t ON g.decile IS NULL;
-- A moving window frame restarts the aggregate for every row.
SELECT count(*) AS window_rows, count(*) FILTER (WHERE (fit).n_readings = n) AS every_reading_counted
FROM (SELECT crm.temp_fit(ts, temp) OVER w AS fit, count(*) OVER w AS n
      FROM fleet WHERE shipment <= 3 WINDOW w AS (PARTITION BY shipment ORDER BY ts ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)) f;
-- A growing frame: the final function runs after every row and the same state takes more readings.
SELECT count(*) AS window_rows, count(*) FILTER (WHERE (fit).n_readings = n) AS every_reading_counted
FROM (SELECT crm.temp_fit(ts, temp) OVER w AS fit, count(*) OVER w AS n
      FROM fleet WHERE shipment <= 3 WINDOW w AS (PARTITION BY shipment ORDER BY ts ROWS UNBOUNDED PRECEDING)) f;
-- Two grouping sets, each sorted in its own phase; ORDER BY and DISTINCT inside the aggregate; one state
-- shared by three aggregates with the same inputs (temp_fit, mean_kinetic_temperature, temp_fit_partial).
SELECT count(*) AS grouping_rows, count(*) FILTER (WHERE g.fit = coalesce(h.fit::text, d.fit)) AS agree_with_each_level
FROM (SELECT shipment % 10 AS decile, shipment, crm.temp_fit(ts, temp)::text AS fit
      FROM fleet GROUP BY GROUPING SETS ((shipment % 10), (shipment))) g
LEFT JOIN fleet_hashed h ON h.shipment = g.shipment
LEFT JOIN (SELECT shipment % 10 AS decile, crm.temp_fit(ts, temp)::text AS fit FROM fleet GROUP BY 1) d
       ON g.shipment IS NULL AND d.decile = g.decile;
SELECT count(*) AS shipments,
       count(*) FILTER (WHERE o.fit = h.fit::text AND o.distinct_fit = h.fit::text AND o.plain_fit = h.fit::text
                          AND o.mkt IS NOT NULL
                          AND (SELECT crm.temp_fit_combine(p) FROM (VALUES (o.part)) v(p))::text = h.fit::text) AS agree
FROM (SELECT shipment, crm.temp_fit(ts, temp ORDER BY ts)::text AS fit, crm.temp_fit(DISTINCT ts, temp)::text AS distinct_fit,
             crm.temp_fit(ts, temp)::text AS plain_fit, crm.mean_kinetic_temperature(ts, temp) AS mkt,
             crm.temp_fit_partial(ts, temp) AS part
      FROM fleet WHERE shipment <= 30 GROUP BY shipment) o
JOIN fleet_hashed h USING (shipment);
-- A rescan that keeps its hash table (no outer reference): the same groups every time.
SELECT count(*) AS rows, count(*) FILTER (WHERE l.fit = h.fit::text) AS agree
FROM generate_series(1, 3) r, LATERAL (SELECT shipment, crm.temp_fit(ts, temp)::text AS fit FROM fleet GROUP BY shipment) l
JOIN fleet_hashed h USING (shipment);
-- An error half-way through (caught), then the same aggregate again in the session; and an argument
-- that catches an error of its own on every row (a subtransaction per row while readings are queued).
DO $$
BEGIN
    PERFORM shipment, crm.temp_fit(ts, CASE WHEN shipment = 299 AND ts > '2025-01-01 08:00' THEN 1 / 0 ELSE temp END)
    FROM fleet GROUP BY shipment;
EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'division by zero caught half-way through the readings';
END $$;
CREATE FUNCTION pg_temp.caught_error(x double precision) RETURNS double precision LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 / 0;
EXCEPTION WHEN division_by_zero THEN
    RETURN x;
END $$;
SELECT count(*) AS shipments, count(*) FILTER (WHERE a.fit = h.fit::text) AS agree_with_hashed
FROM (SELECT shipment, crm.temp_fit(ts, pg_temp.caught_error(temp))::text AS fit FROM fleet WHERE shipment <= 12 GROUP BY shipment) a
JOIN fleet_hashed h USING (shipment);
RESET max_parallel_workers_per_gather;

-- numeric temperatures go to the numeric aggregates, which convert each value as the cast to double
-- precision does (correctly rounded) without its text round trip: every value below, from short decimals
-- to 20- to 40-digit results of numeric arithmetic and exponents from -40 to 40, comes out as the same double
-- (a fit of one reading reports it as t0, the mean of that one reading).
CREATE TABLE numeric_values AS
SELECT i AS shipment, timestamptz '2025-01-01' AS ts,
       CASE i % 8 WHEN 0 THEN round((hashint4(i) % 100000) / 100.0, 2)
                  WHEN 1 THEN (hashint4(i)::numeric / 7 ^ (i % 9)) * 10::numeric ^ ((i % 81) - 40)
                  WHEN 2 THEN exp(-(i % 977) / (60.0 + i % 200)) - 0.5
                  WHEN 3 THEN (hashint4(i)::numeric * 1000003 * 999983) / 3
                  WHEN 4 THEN (abs(hashint8(i))::numeric * abs(hashint4(i))) / (10::numeric ^ (i % 40))
                  WHEN 5 THEN (abs(hashint8(i))::numeric / 3) * 10::numeric ^ ((i % 50) - 25)
                  WHEN 6 THEN (abs(hashint8(i))::numeric * 1000000007 + abs(hashint4(i * 7))) / 10::numeric ^ (i % 30)
                  ELSE (i % 9) - 4 END AS temp
FROM generate_series(1, 40000) i;
SELECT count(*) AS values_read, count(*) FILTER (WHERE (f.m).t0 = v.temp::double precision) AS same_double,
       count(*) FILTER (WHERE length(replace(replace(v.temp::text, '-', ''), '.', '')) > 16) AS longer_than_16_digits
FROM (SELECT shipment, crm.temp_fit(ts, temp) AS m FROM numeric_values GROUP BY shipment) f
JOIN numeric_values v USING (shipment);
-- cold_chain_alerts reads a numeric column through them too: the same rows as over a double precision copy.
CREATE TABLE numeric_readings_f8 AS SELECT shipment, ts + shipment * interval '1 second' AS ts, temp::double precision AS temp
FROM numeric_values WHERE abs(temp) < 100;
CREATE TABLE numeric_readings_nu AS SELECT shipment, ts + shipment * interval '1 second' AS ts, temp
FROM numeric_values WHERE abs(temp) < 100;
UPDATE numeric_readings_f8 SET shipment = shipment % 7;
UPDATE numeric_readings_nu SET shipment = shipment % 7;
SELECT (SELECT array_agg(a ORDER BY a.shipment)::text FROM crm.cold_chain_alerts('numeric_readings_f8', 'shipment', 'ts', 'temp', 8,
                                                                                as_of => '2025-01-02') a)
     = (SELECT array_agg(a ORDER BY a.shipment)::text FROM crm.cold_chain_alerts('numeric_readings_nu', 'shipment', 'ts', 'temp', 8,
                                                                                as_of => '2025-01-02') a)
       AS numeric_and_float8_columns_agree;
-- The issue's own generator (numeric, made by numeric exp()): the same models as over the cast.
CREATE TABLE numeric_readings AS
SELECT s, timestamptz '2026-01-01' + g * interval '1 minute' ts,
       (s % 7) - 3 + (20 + s % 11 - ((s % 7) - 3)) * (1 - exp(-g / (60.0 + s % 200)))
         + ((hashint4(s * 1000 + g) % 1000) / 3000.0) temp
FROM generate_series(1, 20) s, generate_series(1, 300) g;
SELECT count(*) AS shipments,
       count(*) FILTER (WHERE n.fit = c.fit AND n.above = c.above AND n.mkt = c.mkt) AS same_as_the_cast
FROM (SELECT s, crm.temp_fit(ts, temp)::text AS fit, crm.time_above(ts, temp, 8) AS above,
             crm.mean_kinetic_temperature(ts, temp) AS mkt FROM numeric_readings GROUP BY s) n
JOIN (SELECT s, crm.temp_fit(ts, temp::double precision)::text AS fit, crm.time_above(ts, temp::double precision, 8) AS above,
             crm.mean_kinetic_temperature(ts, temp::double precision) AS mkt FROM numeric_readings GROUP BY s) c USING (s);
SELECT pg_typeof(crm.temp_fit(ts, temp)) AS numeric_overload_type FROM numeric_readings;
-- The _partial forms write the same bytes over the numeric column as over its cast.
SELECT count(*) AS shipments, count(*) FILTER (WHERE n.part = c.part) AS same_bytes
FROM (SELECT s, crm.temp_fit_partial(ts, temp) AS part FROM numeric_readings GROUP BY s) n
JOIN (SELECT s, crm.temp_fit_partial(ts, temp::double precision) AS part FROM numeric_readings GROUP BY s) c USING (s);
-- NaN and out-of-range numerics behave as their casts: NaN is refused (22023), 1e400 does not fit a double (22003);
-- a NULL temperature is skipped.
SELECT sqlstate_of($$SELECT crm.temp_fit(now(), 'NaN'::numeric)$$);
SELECT left(sqlstate_of($$SELECT crm.time_above(now(), 1e400, 8)$$), 5) AS out_of_range;
SELECT (crm.temp_fit(ts, CASE WHEN g % 2 = 0 THEN NULL ELSE g::numeric END)).n_readings AS null_skipped
FROM (SELECT timestamptz '2025-01-01' + g * interval '1 minute' AS ts, g FROM generate_series(1, 10) g) x;

-- Errors.
SELECT sqlstate_of($$SELECT crm.temp_fit(now(), 'NaN')$$);
SELECT sqlstate_of($$SELECT crm.temp_fit('infinity', 4)$$);
SELECT sqlstate_of($$SELECT crm.time_above(ts, temp, shipment) FROM readings$$);
SELECT sqlstate_of($$SELECT crm.mean_kinetic_temperature(now(), -300)$$);
SELECT sqlstate_of($$SELECT crm.mean_kinetic_temperature(now(), 4, -1)$$);
SELECT sqlstate_of($$SELECT crm.temp_at((7, 1, 2, '1 hour', now(), 0, 3, true, false, NULL)::crm.temp_model, now())$$);
SELECT sqlstate_of($$SELECT crm.temp_at((1, 1, 2, '-1 hour', now(), 0, 3, true, false, NULL)::crm.temp_model, now())$$);
SELECT sqlstate_of($$SELECT crm.temp_breach_time(model, 'NaN') FROM models$$);
SELECT sqlstate_of($$SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'nope', 8)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 8, lower_limit => 9)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 'NaN')$$);
SELECT sqlstate_of($$SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 8, horizon => '-1 hour')$$);
