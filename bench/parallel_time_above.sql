-- Parallel speed-up of crm.time_above(read_at, temp_c, 8) over a 10M-row table (made by
-- bench/campaign.sql or bench/cold_chain.sql, which run first): the same
-- aggregate with 2 parallel workers and serially. Target: >= 1.6x on 2 cores.

-- @ours 2 parallel workers (Partial Aggregate under Gather)
SET max_parallel_workers_per_gather = 2;
SELECT crm.time_above(read_at, temp_c, 8) IS NOT NULL FROM bench_readings;

-- @baseline serial (max_parallel_workers_per_gather = 0)
SET max_parallel_workers_per_gather = 0;
SELECT crm.time_above(read_at, temp_c, 8) IS NOT NULL FROM bench_readings;
