-- crm.weighted_score: C = sum_j w_j x_j
\set VERBOSITY terse
SELECT crm.weighted_score(ARRAY[1, 2, 3], ARRAY[0.5, 0.25, 1]);  -- 0.5 + 0.5 + 3 = 4
SELECT crm.weighted_score(ARRAY[-1.5], ARRAY[2]);
SELECT crm.weighted_score(ARRAY[1, NULL, 3], ARRAY[0.5, 0.25, 1]) IS NULL AS null_feature_gives_null;
SELECT crm.weighted_score(NULL, ARRAY[1.0]) IS NULL AS strict;

-- Normalise across the population in the same query (z-score and min-max), then weight.
CREATE TABLE feats (id int, recency float8, frequency float8, monetary float8);
INSERT INTO feats VALUES (1, 10, 5, 500), (2, 200, 1, 20), (3, 40, 3, 150), (4, 90, 2, 80);
SELECT id, round(crm.weighted_score(
         ARRAY[-(recency - avg(recency) OVER ()) / NULLIF(stddev_pop(recency) OVER (), 0),
               (frequency - avg(frequency) OVER ()) / NULLIF(stddev_pop(frequency) OVER (), 0),
               (monetary - avg(monetary) OVER ()) / NULLIF(stddev_pop(monetary) OVER (), 0)],
         ARRAY[0.2, 0.3, 0.5])::numeric, 6) AS zscore_score,
       round(crm.weighted_score(
         ARRAY[1 - (recency - min(recency) OVER ()) / NULLIF(max(recency) OVER () - min(recency) OVER (), 0),
               (frequency - min(frequency) OVER ()) / NULLIF(max(frequency) OVER () - min(frequency) OVER (), 0),
               (monetary - min(monetary) OVER ()) / NULLIF(max(monetary) OVER () - min(monetary) OVER (), 0)],
         ARRAY[0.2, 0.3, 0.5])::numeric, 6) AS minmax_score
FROM feats ORDER BY id;
-- Hand check of customer 1 (min-max): 0.2*1 + 0.3*1 + 0.5*1 = 1; customer 2: 0.

SELECT sqlstate_of($$SELECT crm.weighted_score(ARRAY[1, 2], ARRAY[1.0])$$);
SELECT sqlstate_of($$SELECT crm.weighted_score(ARRAY[]::float8[], ARRAY[]::float8[])$$);
SELECT sqlstate_of($$SELECT crm.weighted_score(ARRAY['NaN']::float8[], ARRAY[1.0])$$);
SELECT sqlstate_of($$SELECT crm.weighted_score(ARRAY[1.0], ARRAY['-Infinity']::float8[])$$);
SELECT sqlstate_of($$SELECT crm.weighted_score(ARRAY[1.0], ARRAY[NULL]::float8[])$$);
SELECT sqlstate_of($$SELECT crm.weighted_score(ARRAY[[1.0, 2.0]], ARRAY[[1.0, 2.0]])$$);
SELECT sqlstate_of($$SELECT crm.weighted_score(ARRAY[1e308, 1e308], ARRAY[10.0, 10.0])$$);
