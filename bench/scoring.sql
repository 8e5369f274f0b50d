-- Per-row scoring against a bare scan (#20 target 2): 1M stored rows of an 8-element float8 array, a
-- k = 8 model fitted on them, crm.kmeans_assign per row against one arithmetic expression per row.

-- @setup
DROP TABLE IF EXISTS bench_scoring;
CREATE TABLE bench_scoring AS
SELECT g, ARRAY[(g % 97)::float8, g % 89, g % 83, g % 79, g % 73, g % 71, g % 67, g % 61] f
FROM generate_series(1, 1000000) g;
VACUUM ANALYZE bench_scoring;
DROP TABLE IF EXISTS bench_scoring_model;
CREATE TABLE bench_scoring_model AS
SELECT crm.kmeans_fit(f, crm.kmeans_options(8, seed => 1, n_init => 1)) AS model FROM bench_scoring;

-- @ours crm.kmeans_assign on each of the 1M rows, the model given as a scalar subquery (a parallel scan)
SELECT sum(crm.kmeans_assign((SELECT model FROM bench_scoring_model), s.f)) FROM bench_scoring s;

-- @baseline crm.kmeans_assign with the model table joined (PostgreSQL plans that join serially)
SELECT sum(crm.kmeans_assign(m.model, s.f)) FROM bench_scoring s, bench_scoring_model m;

-- @baseline bare scan computing one expression per row
SELECT sum(f[1] * 2 + f[8]) FROM bench_scoring;
