-- Every <aggregate>_partial / <aggregate>_combine pair gives the aggregate's own result
-- when partial states are built per group (as on shards) and combined.
\set VERBOSITY terse
CREATE TABLE pc AS
SELECT i, i % 3 AS shard, i % 5 <> 0 AS treated, (i % 37)::float8 AS revenue,
       timestamptz '2025-01-01' + i * interval '1 minute' AS ts, 4 + (i % 50) / 10.0 AS temp,
       (i % 17)::float8 AS x, (i % 11)::float8 AS y
FROM generate_series(1, 3000) i;

SELECT abs((u).ci_low - (v).ci_low) < 1e-9 AS uplift
FROM (SELECT crm.campaign_uplift_combine(p) u FROM (SELECT crm.campaign_uplift_partial(treated, revenue, 0.9) p FROM pc GROUP BY shard) s) a,
     (SELECT crm.campaign_uplift(treated, revenue, 0.9) v FROM pc) b;
SELECT (SELECT crm.conversion_uplift_combine(p) FROM (SELECT crm.conversion_uplift_partial(treated, revenue > 20) p FROM pc GROUP BY shard) s)
     = (SELECT crm.conversion_uplift(treated, revenue > 20) FROM pc) AS conversion;
SELECT (SELECT crm.rfm_thresholds_combine(p) FROM (SELECT crm.rfm_thresholds_partial(x, y, revenue, 4) p FROM pc GROUP BY shard) s)
     = (SELECT crm.rfm_thresholds(x, y, revenue, 4) FROM pc) AS rfm_thresholds;
-- Partial states of 6,000+ rows whose measures repeat travel as (value, count) runs: the same cut points.
SELECT (SELECT crm.rfm_thresholds_combine(p) FROM (SELECT crm.rfm_thresholds_partial(g % 365, g % 13, g * 0.37, 5) p
                                                   FROM generate_series(1, 20000) g GROUP BY g % 3) s)
     = (SELECT crm.rfm_thresholds(g % 365, g % 13, g * 0.37, 5) FROM generate_series(1, 20000) g) AS rfm_thresholds_runs,
       length((SELECT crm.rfm_thresholds_partial(g % 365, g % 13, g * 0.37, 5) FROM generate_series(1, 20000) g))
     < 20000 * 8 + 20000 AS runs_are_small;
-- k-means sees the points in another order, and still gives the same model (a function of the rows).
SELECT (crm.kmeans_info(m)).n_points, m::text = n::text AS kmeans
FROM (SELECT crm.kmeans_fit_combine(p) m FROM (SELECT crm.kmeans_fit_partial(ARRAY[x, y], crm.kmeans_options(3, n_init => 4)) p FROM pc GROUP BY shard) s) a,
     (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, n_init => 4)) n FROM pc) b;
SELECT (SELECT crm.temp_fit_combine(p) FROM (SELECT crm.temp_fit_partial(ts, temp) p FROM pc GROUP BY shard) s)::text
     = (SELECT crm.temp_fit(ts, temp) FROM pc)::text AS temp_fit;
SELECT (SELECT crm.time_above_combine(p) FROM (SELECT crm.time_above_partial(ts, temp, 8) p FROM pc GROUP BY shard) s)
     = (SELECT crm.time_above(ts, temp, 8) FROM pc) AS time_above,
       (SELECT crm.time_below_combine(p) FROM (SELECT crm.time_below_partial(ts, temp, 5) p FROM pc GROUP BY shard) s)
     = (SELECT crm.time_below(ts, temp, 5) FROM pc) AS time_below,
       (SELECT crm.mean_kinetic_temperature_combine(p) FROM (SELECT crm.mean_kinetic_temperature_partial(ts, temp) p FROM pc GROUP BY shard) s)
     = (SELECT crm.mean_kinetic_temperature(ts, temp) FROM pc) AS mkt;
-- NULL partial states are skipped; corrupted bytes are an error (22P03), not a crash.
SELECT (crm.campaign_uplift_combine(p)).treated_n FROM (VALUES (NULL::bytea), ((SELECT crm.campaign_uplift_partial(treated, revenue) FROM pc))) v(p);
SELECT sqlstate_of($$SELECT crm.campaign_uplift_combine('\x5501'::bytea)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit_combine('\x4c01ffffffff'::bytea)$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds_combine((SELECT crm.campaign_uplift_partial(true, 1.0)))$$);
-- k-means over shards: Lloyd steps combined per shard give the same model as plain steps.
SELECT crm.kmeans_centroid_shift(crm.kmeans_fit_distributed('pc', ARRAY['x', 'y'], 3),
                                 crm.kmeans_fit_distributed('pc', ARRAY['x', 'y'], 3, shard_col => 'shard')) < 1e-18
       AS same_model,
       (crm.kmeans_info(crm.kmeans_fit_distributed('pc', ARRAY['x', 'y'], 3, shard_col => 'shard'))).n_points;
WITH f AS (SELECT crm.kmeans_fit(ARRAY[x, y], 3) AS m FROM pc)
SELECT (crm.kmeans_info(s.m2)).iterations = (crm.kmeans_info(f.m)).iterations + 1 AS one_more_iteration,
       (crm.kmeans_info(s.m2)).n_points
FROM f, LATERAL (SELECT crm.kmeans_step(ARRAY[x, y], f.m) AS m2 FROM pc) s;
SELECT sqlstate_of($$SELECT crm.kmeans_step(ARRAY[x, y], CASE WHEN x > 5 THEN a.m ELSE b.m END)
                     FROM pc, (SELECT crm.kmeans_fit(ARRAY[x, y], 3) m FROM pc) a, (SELECT crm.kmeans_fit(ARRAY[x, y], 4) m FROM pc) b$$);
-- One kind per partial state: every _partial state fed to every _combine
-- aggregate. Only its own pair combines; another kind is refused with 22023
-- (cold-chain states share one format and carry their kind) or 22P03 (another
-- format altogether): a time_above limit is never read as a temp_fit ambient.
CREATE TEMP TABLE pc_states AS
SELECT 'rfm_thresholds' AS agg, crm.rfm_thresholds_partial(x, y, revenue) AS state FROM pc
UNION ALL SELECT 'campaign_uplift', crm.campaign_uplift_partial(treated, revenue) FROM pc
UNION ALL SELECT 'conversion_uplift', crm.conversion_uplift_partial(treated, revenue > 20) FROM pc
UNION ALL SELECT 'kmeans_fit', crm.kmeans_fit_partial(ARRAY[x, y], 3) FROM pc
UNION ALL SELECT 'kmeans_step', crm.kmeans_step_partial(ARRAY[x, y], (SELECT crm.kmeans_fit(ARRAY[x, y], 3) FROM pc)) FROM pc
UNION ALL SELECT 'temp_fit', crm.temp_fit_partial(ts, temp) FROM pc
UNION ALL SELECT 'time_above', crm.time_above_partial(ts, temp, 8) FROM pc
UNION ALL SELECT 'time_below', crm.time_below_partial(ts, temp, 8) FROM pc
UNION ALL SELECT 'mean_kinetic_temperature', crm.mean_kinetic_temperature_partial(ts, temp) FROM pc
UNION ALL SELECT 'nps', crm.nps_partial((x::integer % 11)::float8) FROM pc
UNION ALL SELECT 'csat', crm.csat_partial((x::integer % 5 + 1)::float8) FROM pc
UNION ALL SELECT 'tree_fit', crm.tree_fit_partial(ARRAY[x, y], treated, crm.tree_options(max_depth => 2)) FROM pc;
SELECT c.agg AS combine, string_agg(p.agg || '=' || split_part(sqlstate_of(format(
           'SELECT crm.%s_combine(state) FROM pc_states WHERE agg = %L', c.agg, p.agg)), ':', 1), ', ' ORDER BY p.agg) AS outcomes
FROM pc_states c, pc_states p GROUP BY c.agg ORDER BY c.agg;
-- Two _partial aggregates with the same inputs in one query share one state in PostgreSQL: each
-- still writes its own kind, so each _combine takes its own.
SELECT (SELECT crm.mean_kinetic_temperature_combine(m) FROM (SELECT crm.temp_fit_partial(ts, temp) AS f,
                                                                    crm.mean_kinetic_temperature_partial(ts, temp) AS m
                                                             FROM pc GROUP BY shard) s)
     = (SELECT crm.mean_kinetic_temperature(ts, temp) FROM pc) AS shared_state_mkt,
       (SELECT crm.time_below_combine(b)::text FROM (SELECT crm.time_above_partial(ts, temp, 8) AS a,
                                                          crm.time_below_partial(ts, temp, 8) AS b
                                                   FROM pc GROUP BY shard) s)
     = (SELECT crm.time_below(ts, temp, 8)::text FROM pc) AS shared_state_time_below;
