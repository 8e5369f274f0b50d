-- Parallel speed-up of crm.rfm_thresholds(campaign::float8, revenue, revenue * 2) over a 10M-row table (made by
-- bench/campaign.sql, which runs first): the same aggregate with 2 parallel workers and serially, over one
-- group and over 1,000 groups. Target (#20): parallel never more than 1.1x slower than serial.

-- @case one group of 10M rows
-- :groups = 1

-- @case 1,000 groups
-- :groups = 1000

-- @ours 2 parallel workers (Partial Aggregate under Gather)
SET max_parallel_workers_per_gather = 2;
SELECT count(t) FROM (SELECT crm.rfm_thresholds(campaign::float8, revenue, revenue * 2) AS t FROM bench_campaign_results
                      GROUP BY (revenue * 1000)::bigint % :groups) s;

-- @baseline serial (max_parallel_workers_per_gather = 0)
SET max_parallel_workers_per_gather = 0;
SELECT count(t) FROM (SELECT crm.rfm_thresholds(campaign::float8, revenue, revenue * 2) AS t FROM bench_campaign_results
                      GROUP BY (revenue * 1000)::bigint % :groups) s;
