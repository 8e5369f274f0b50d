-- Survey KPIs: crm.csat over 5M answers (the table of bench/kpis_nps.sql), against the plain SQL
-- share of 4 and 5 answers. Serial plans on both sides. Target: within 1.5x of the plain SQL.

-- @setup
CREATE TABLE IF NOT EXISTS bench_survey AS
SELECT g % 200 AS store, (hashint4(g) & 2147483647) % 11 AS recommend, (hashint4(-g) & 2147483647) % 5 + 1 AS stars
FROM generate_series(1, 5000000) g;
VACUUM ANALYZE bench_survey;

-- @ours crm.csat over the whole table
SET max_parallel_workers_per_gather = 0;
SELECT (crm.csat(stars)).csat FROM bench_survey;

-- @baseline plain SQL CSAT (share of 4 and 5)
SET max_parallel_workers_per_gather = 0;
SELECT 100.0 * count(*) FILTER (WHERE stars >= 4) / count(*) FROM bench_survey WHERE stars IS NOT NULL;
