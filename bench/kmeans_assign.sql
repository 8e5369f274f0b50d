-- k-means assignment of 1M rows (needs the tables made by bench/kmeans.sql's setup: run it first,
-- as bench/run.sh does in alphabetical order).

-- @ours crm.kmeans_assign on each of the 1M rows (model decoded once per query; a scalar subquery, so the scan is parallel)
SELECT count(*), sum(crm.kmeans_assign((SELECT model FROM bench_km_model), ARRAY[a, b, c1, d, e, f, g, h]))
FROM bench_km;

-- @baseline bare scan of the 1M rows (sum of the features)
SELECT count(*), sum(a + b + c1 + d + e + f + g + h) FROM bench_km;
