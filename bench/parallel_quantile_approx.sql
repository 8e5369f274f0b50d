-- Approximate RFM cut points, crm.rfm_thresholds_approx (KLL sketches), over the 10M-row table that
-- bench/campaign.sql makes (it runs first): with 2 parallel workers against serial, against the exact
-- crm.rfm_thresholds with 2 workers, and against the plain-SQL way (percentile_cont, which never runs in
-- parallel), over one group and over 1,000 groups. Target (#20): parallel never more than 1.1x slower.

-- @case one group of 10M rows
-- :groups = 1

-- @case 1,000 groups
-- :groups = 1000

-- @ours rfm_thresholds_approx, 2 parallel workers (workers ship sketches)
SET max_parallel_workers_per_gather = 2;
SELECT count(t) FROM (SELECT crm.rfm_thresholds_approx(campaign::float8, revenue, revenue * 2) AS t
                      FROM bench_campaign_results GROUP BY (revenue * 1000)::bigint % :groups) s;

-- @baseline rfm_thresholds_approx serial (max_parallel_workers_per_gather = 0)
SET max_parallel_workers_per_gather = 0;
SELECT count(t) FROM (SELECT crm.rfm_thresholds_approx(campaign::float8, revenue, revenue * 2) AS t
                      FROM bench_campaign_results GROUP BY (revenue * 1000)::bigint % :groups) s;

-- @baseline exact crm.rfm_thresholds, 2 parallel workers (workers ship every value)
SET max_parallel_workers_per_gather = 2;
SELECT count(t) FROM (SELECT crm.rfm_thresholds(campaign::float8, revenue, revenue * 2) AS t
                      FROM bench_campaign_results GROUP BY (revenue * 1000)::bigint % :groups) s;

-- @baseline plain SQL: percentile_cont(ARRAY[.2, .4, .6, .8]) WITHIN GROUP, once per measure
SET max_parallel_workers_per_gather = 2;
SELECT count(r) + count(f) + count(m) FROM (
    SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY campaign::float8) AS r,
           percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY revenue) AS f,
           percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY revenue * 2) AS m
    FROM bench_campaign_results GROUP BY (revenue * 1000)::bigint % :groups) s;
