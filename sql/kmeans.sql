-- k-means: fit, the model type, assignment, inspection, labels and bad input.
\set VERBOSITY terse

-- Three well-separated blobs of 200 points around (0,0), (10,0), (0,10).
CREATE TABLE blobs AS
SELECT i, c,
       (ARRAY[0, 10, 0])[c] + ((i * 7919) % 101 - 50) / 100.0 AS x,
       (ARRAY[0, 0, 10])[c] + ((i * 104729) % 101 - 50) / 100.0 AS y
FROM generate_series(1, 600) i, LATERAL (SELECT 1 + i % 3 AS c) s;

CREATE TABLE km_models AS
SELECT 'blobs' AS name,
       crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, seed => 7, n_init => 5, feature_names => ARRAY['x', 'y'])) AS model
FROM blobs;

-- The blob centres are recovered (centroids in original units), each cluster has its 200 points.
SELECT size, round(centroid[1]::numeric, 6) AS x, round(centroid[2]::numeric, 6) AS y
FROM km_models, crm.kmeans_clusters(model) ORDER BY 2, 3;
SELECT round(avg(x)::numeric, 6) AS x, round(avg(y)::numeric, 6) AS y FROM blobs GROUP BY c ORDER BY 1, 2;

-- Assignment agrees with the generating blob (cluster numbers are 1..k; which is which is arbitrary).
SELECT count(DISTINCT (c, crm.kmeans_assign(model, ARRAY[x, y]))) AS pairs, min(crm.kmeans_assign(model, ARRAY[x, y])),
       max(crm.kmeans_assign(model, ARRAY[x, y]))
FROM blobs, km_models;
-- New customers tomorrow: assigned with the stored scaling.
SELECT crm.kmeans_assign(model, ARRAY[9.5, 0.3]) = crm.kmeans_assign(model, ARRAY[10, 0]) AS same_cluster,
       round(crm.kmeans_distance(model, ARRAY[10.0, 0.0])::numeric, 3) < 0.01 AS near_centre
FROM km_models;

-- Inspection: inertia equals the sum of the clusters' sums of squares.
SELECT i.version, i.k, i.dims, i.n_points, i.iterations >= 1 AS iterated, i.n_init, i.seed, i.converged, i.scale,
       i.feature_names, round(i.inertia::numeric, 9) = round((SELECT sum(wcss) FROM crm.kmeans_clusters(model))::numeric, 9) AS inertia_is_sum
FROM km_models, crm.kmeans_info(model) i;
SELECT crm.kmeans_labels(model) IS NOT NULL AS labelled, cardinality(crm.kmeans_labels(model)) FROM km_models;

-- Deterministic for a seed; the text form is JSON with a version marker and round-trips exactly.
SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, seed => 7, n_init => 5, feature_names => ARRAY['x', 'y']))::text
       = (SELECT model::text FROM km_models) AS same_model FROM blobs;
SELECT (model::text)::jsonb ->> 'format' AS format, (model::text)::jsonb ->> 'version' AS version,
       ((model::text)::crm.kmeans_model)::text = model::text AS text_round_trip FROM km_models;

-- Scaling: minmax and none are remembered and applied on assignment.
SELECT (crm.kmeans_info(crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, scale => 'minmax')))).scale,
       (crm.kmeans_info(crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, scale => 'none')))).scale FROM blobs;

-- k = 1: the centroid is the mean; k = number of distinct points.
SELECT round(centroid[1]::numeric, 6) = round((SELECT avg(x) FROM blobs)::numeric, 6) AS centroid_is_mean
FROM crm.kmeans_clusters((SELECT crm.kmeans_fit(ARRAY[x, y], 1) FROM blobs));
SELECT (crm.kmeans_info(crm.kmeans_fit(ARRAY[v], 3))).inertia FROM (VALUES (1.0::float8), (2), (3)) t(v);

-- Readable CRM labels on recency / frequency / monetary features.
CREATE TABLE rfm_points AS
SELECT g, (ARRAY[5, 20, 300, 10])[g] + (i % 7) AS recency_days, (ARRAY[30, 8, 3, 1])[g] + (i % 3) AS frequency,
       (ARRAY[3000, 500, 400, 60])[g] + (i % 11) * 3 AS monetary
FROM generate_series(1, 400) i, LATERAL (SELECT 1 + i % 4 AS g) s;
SELECT g, (crm.kmeans_labels(m))[crm.kmeans_assign(m, ARRAY[recency_days, frequency, monetary])] AS label
FROM rfm_points,
     (SELECT crm.kmeans_fit(ARRAY[recency_days, frequency, monetary],
                            crm.kmeans_options(4, seed => 1, feature_names => ARRAY['recency_days', 'frequency', 'monetary'])) AS m
      FROM rfm_points) f
GROUP BY 1, 2 ORDER BY 1;
-- Names that tell the two Low-Value groups apart, ordered by value (z_f + z_m - z_r, hand-checked below).
CREATE TABLE km_rfm_model AS
SELECT crm.kmeans_fit(ARRAY[recency_days, frequency, monetary],
                      crm.kmeans_options(4, seed => 1, feature_names => ARRAY['recency_days', 'frequency', 'monetary'])) AS m
FROM rfm_points;
SELECT p.g, n.name, n.value_rank, n.profile
FROM km_rfm_model, crm.kmeans_cluster_names(m) n
JOIN (SELECT DISTINCT g, crm.kmeans_assign((SELECT m FROM km_rfm_model), ARRAY[recency_days, frequency, monetary]) AS cluster
      FROM rfm_points) p USING (cluster)
ORDER BY n.value_rank;
WITH pop AS (SELECT avg(recency_days) mr, stddev_pop(recency_days) sr, avg(frequency) mf, stddev_pop(frequency) sf,
                    avg(monetary) mm, stddev_pop(monetary) sm FROM rfm_points),
     grp AS (SELECT g, (avg(frequency) - mf) / sf + (avg(monetary) - mm) / sm - (avg(recency_days) - mr) / sr AS score
             FROM rfm_points, pop GROUP BY g, mr, sr, mf, sf, mm, sm),
     ours AS (SELECT DISTINCT p.g, n.value_score FROM km_rfm_model, crm.kmeans_cluster_names(m) n
              JOIN (SELECT g, crm.kmeans_assign((SELECT m FROM km_rfm_model), ARRAY[recency_days, frequency, monetary]) AS cluster
                    FROM rfm_points) p USING (cluster))
SELECT bool_and(abs(o.value_score - g.score) < 1e-9) AS score_is_documented_formula FROM ours o JOIN grp g USING (g);
SELECT count(DISTINCT n.name) = count(*) AS distinct_names FROM km_models, crm.kmeans_cluster_names(model) n;
SELECT count(*) AS rows_for_null FROM crm.kmeans_cluster_names(NULL);
DROP TABLE km_rfm_model;

-- The one-call form for DBAs and the silhouette.
SELECT (crm.kmeans_info(crm.kmeans_fit_table('blobs', ARRAY['x', 'y'], 3, seed => 7, n_init => 5))).feature_names;
SELECT round(crm.kmeans_silhouette(model, 'blobs', ARRAY['x', 'y'])::numeric, 3) > 0.8 AS well_separated FROM km_models;
SELECT k, round(inertia::numeric, 1) > 0 AS has_inertia, silhouette IS NULL AS no_silhouette_for_k1
FROM crm.kmeans_choose_k('blobs', ARRAY['x', 'y'], 1, 3) ORDER BY k;

-- NULL rows are skipped (NOTICE); no rows gives NULL.
SELECT (crm.kmeans_info(crm.kmeans_fit(f, 2))).n_points FROM (VALUES (ARRAY[1.0, 2.0]), (NULL), (ARRAY[5.0, 1.0]), (ARRAY[4.0, 4.0])) t(f);
SELECT crm.kmeans_fit(ARRAY[x, y], 3) IS NULL AS empty_gives_null FROM blobs WHERE false;

-- Sampling keeps memory bounded: the model is fitted on the sample.
SELECT (crm.kmeans_info(crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(3, sample_size => 50)))).n_points FROM blobs;
-- Over the memory limit: a clear error with the hint to sample.
SET crm.max_fit_memory = '1MB';
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[i, i * 2, i * 3, i * 4], 3) FROM generate_series(1, 100000) i$$);
SELECT (crm.kmeans_info(crm.kmeans_fit(ARRAY[i, i * 2, i * 3, i * 4], crm.kmeans_options(3, sample_size => 1000)))).n_points
FROM generate_series(1, 100000) i;
RESET crm.max_fit_memory;

-- Parallel: Partial Aggregate under Gather, and the same model as serial.
CREATE TABLE km_many AS SELECT i, (i % 5) * 3 + (i % 13) / 13.0 AS x, (i % 7) + (i % 11) / 11.0 AS y FROM generate_series(1, 100000) i;
ANALYZE km_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT crm.kmeans_fit(ARRAY[x, y], 4) FROM km_many;
-- The same model, to the last bit, whatever the plan (workers or not: this
-- holds whether or not they launch) and whatever the physical order of the
-- rows: a seeded fit, sampled or not, is a function of the rows' contents.
CREATE TABLE km_shuffled AS SELECT * FROM km_many ORDER BY hashint4(i);
ANALYZE km_shuffled;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fits AS
SELECT (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(4, n_init => 3)) FROM km_many) AS full_fit,
       (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(4, n_init => 3, sample_size => 5000)) FROM km_many) AS sampled_fit;
SET max_parallel_workers_per_gather = 2;
SELECT (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(4, n_init => 3)) FROM km_many)::text = full_fit::text AS parallel_same,
       (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(4, n_init => 3)) FROM km_shuffled)::text = full_fit::text AS shuffled_same,
       (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(4, n_init => 3, sample_size => 5000)) FROM km_many)::text
         = sampled_fit::text AS sampled_parallel_same,
       (SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(4, n_init => 3, sample_size => 5000)) FROM km_shuffled)::text
         = sampled_fit::text AS sampled_shuffled_same,
       (crm.kmeans_info(sampled_fit)).n_points AS sampled_points
FROM serial_fits;
RESET max_parallel_workers_per_gather;

-- Bad input.
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[x, y], 0) FROM blobs$$);
-- One options check everywhere: the distributed fit refuses tol = Infinity like the others.
SELECT sqlstate_of($$SELECT crm.kmeans_fit_distributed('blobs', ARRAY['x', 'y'], 2, tol => 'Infinity')$$);
SELECT sqlstate_of($$SELECT crm.kmeans_options(3, tol => 'Infinity')$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[1.0, 2.0], 2)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(f, 2) FROM (VALUES (ARRAY[1.0, 2.0]), (ARRAY[1.0, 2.0, 3.0])) t(f)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[1.0, NULL], 1)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[1.0, 'NaN'], 1)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[1.0, 'Infinity'], 1)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[]::float8[], 1)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[[1.0, 2.0]], 1)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[x, y], NULL::int) FROM blobs$$);
SELECT sqlstate_of($$SELECT crm.kmeans_options(0)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_options(3, scale => 'log')$$);
SELECT sqlstate_of($$SELECT crm.kmeans_options(3, tol => -1)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_options(3, sample_size => 2)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[x, y], crm.kmeans_options(2, feature_names => ARRAY['a'])) FROM blobs$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit(ARRAY[x, y], CASE WHEN x > 5 THEN 2 ELSE 3 END) FROM blobs$$);
SELECT sqlstate_of($$SELECT crm.kmeans_assign(model, ARRAY[1.0]) FROM km_models$$);
SELECT sqlstate_of($$SELECT crm.kmeans_assign(model, ARRAY[1.0, 'NaN']) FROM km_models$$);
SELECT sqlstate_of($$SELECT '{"format": "crm.kmeans_model", "version": 1}'::crm.kmeans_model$$);
SELECT sqlstate_of($$SELECT 'not json'::crm.kmeans_model$$);
SELECT sqlstate_of($$SELECT replace(model::text, '"version": 1', '"version": 9')::crm.kmeans_model FROM km_models$$);
SELECT sqlstate_of($$SELECT crm.kmeans_silhouette(model, 'blobs', ARRAY['x']) FROM km_models$$);
SELECT sqlstate_of($$SELECT crm.kmeans_silhouette(model, 'blobs', ARRAY['x', 'nope']) FROM km_models$$);
SELECT sqlstate_of($$SELECT crm.kmeans_fit_table('blobs', ARRAY['x', 'nope'], 2)$$);
SELECT sqlstate_of($$SELECT * FROM crm.kmeans_choose_k('blobs', ARRAY['x', 'y'], 3, 2)$$);
SELECT sqlstate_of($$SELECT crm.kmeans_silhouette(model, 'blobs', ARRAY['x', 'y'], 100000000000) FROM km_models$$);
