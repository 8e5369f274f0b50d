-- Per-row scoring against a bare scan (#20 target 2: every per-row scorer within 3x of a scan computing
-- one arithmetic expression per row): 1M stored rows of an 8-element float8 array, and a model of each
-- kind fitted once in the setup: k-means (k = 8), RFM thresholds, a cold-chain curve, SVD factors and a
-- decision tree. Each model is given as a scalar subquery (evaluated once; the scan goes parallel).
-- The CLV scorers are measured the same way in bench/clv_score.sql.

-- @setup
DROP TABLE IF EXISTS bench_scoring;
CREATE TABLE bench_scoring AS
SELECT g, ARRAY[(g % 97)::float8, g % 89, g % 83, g % 79, g % 73, g % 71, g % 67, g % 61] f
FROM generate_series(1, 1000000) g;
VACUUM ANALYZE bench_scoring;
DROP TABLE IF EXISTS bench_scoring_model;
CREATE TABLE bench_scoring_model AS
SELECT crm.kmeans_fit(f, crm.kmeans_options(8, seed => 1, n_init => 1)) AS model FROM bench_scoring;
DROP TABLE IF EXISTS bench_scoring_ratings;
CREATE TABLE bench_scoring_ratings AS
SELECT DISTINCT ON (u, i) u, i, r FROM (
    SELECT abs(hashint4(g)) % 2000 + 1 AS u, abs(hashint4(g + 99)) % 1000 + 1 AS i,
           (abs(hashint4(g + 7)) % 5 + 1)::float8 AS r FROM generate_series(1, 100000) g) s;
DROP TABLE IF EXISTS bench_scoring_models;
CREATE TABLE bench_scoring_models AS
SELECT (SELECT crm.rfm_thresholds(f[1], f[2], f[3]) FROM bench_scoring) AS rfm,
       (SELECT crm.temp_fit(ts, 20 - 15 * exp(-k / 90.0))
        FROM (SELECT k, timestamptz '2025-01-01' + k * interval '1 minute' AS ts FROM generate_series(0, 600) k) r) AS curve,
       crm.svd_fit('bench_scoring_ratings', 'u', 'i', 'r', factors => 20, epochs => 5) AS svd,
       (SELECT crm.tree_fit(f, f[1] + f[2] > 90, crm.tree_options(max_depth => 6, seed => 1))
        FROM bench_scoring WHERE g % 10 = 0) AS tree;

-- @ours crm.kmeans_assign (the model as a scalar subquery: a parallel scan)
SELECT sum(crm.kmeans_assign((SELECT model FROM bench_scoring_model), s.f)) FROM bench_scoring s;

-- @ours crm.kmeans_distance
SELECT sum(crm.kmeans_distance((SELECT model FROM bench_scoring_model), s.f)) FROM bench_scoring s;

-- @ours crm.rfm_score (R, F and M scores, cell and segment per row)
SELECT sum((crm.rfm_score((SELECT rfm FROM bench_scoring_models), f[1], f[2], f[3])).r_score) FROM bench_scoring;

-- @ours crm.temp_at (the fitted curve at a time computed per row)
SELECT sum(crm.temp_at((SELECT curve FROM bench_scoring_models), timestamptz '2025-01-01' + g * interval '1 second'))
FROM bench_scoring;

-- @ours crm.svd_predict (2,000 users x 1,000 items, 20 factors)
SELECT sum(crm.svd_predict((SELECT svd FROM bench_scoring_models), g % 2000 + 1, g % 1000 + 1)) FROM bench_scoring;

-- @ours crm.tree_predict (depth 6)
SELECT sum(crm.tree_predict((SELECT tree FROM bench_scoring_models), f)) FROM bench_scoring;

-- @ours crm.kmeans_assign with the model table joined (PostgreSQL plans that join serially)
SELECT sum(crm.kmeans_assign(m.model, s.f)) FROM bench_scoring s, bench_scoring_model m;

-- @baseline bare scan computing one expression per row
SELECT sum(f[1] * 2 + f[8]) FROM bench_scoring;
