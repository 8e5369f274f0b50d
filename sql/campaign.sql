-- Campaign ROI and uplift against a control group.
\set VERBOSITY terse

-- The formula: (sales increase - cost) / cost * 100
SELECT crm.campaign_roi(1500, 1000) AS roi_50, crm.campaign_roi(500, 1000) AS roi_minus_50,
       crm.campaign_roi(NULL, 1000) IS NULL AS null_in_null_out;
SELECT sqlstate_of($$SELECT crm.campaign_roi(100, 0)$$);
SELECT sqlstate_of($$SELECT crm.campaign_roi(100, -5)$$);
SELECT sqlstate_of($$SELECT crm.campaign_roi('NaN', 5)$$);
SELECT sqlstate_of($$SELECT crm.campaign_roi(5, 'Infinity')$$);

-- Hand-checkable uplift: treated {10, 12, 14}, control {8, 9, 10}
-- means 12 and 9, uplift 3, incremental 9; variances 4 and 1; se = sqrt(4/3 + 1/3) = 1.2910;
-- Welch df = (5/3)^2 / ((4/3)^2/2 + (1/3)^2/2) = 2.9412; t = 2.3238.
SELECT treated_n, control_n, treated_mean, control_mean, uplift, incremental_revenue,
       round(ci_low::numeric, 6) AS ci_low, round(ci_high::numeric, 6) AS ci_high,
       round(p_value::numeric, 6) AS p_value, confidence, skipped_rows
FROM (SELECT (crm.campaign_uplift(t, r)).* FROM (VALUES (true, 10.0::float8), (true, 12), (true, 14),
      (false, 8), (false, 9), (false, 10)) v(t, r)) x;
-- scipy.stats.ttest_ind([10,12,14], [8,9,10], equal_var=False): p = 0.10447888668472186;
-- interval by scipy.stats.t.ppf(0.975, df): [-1.1553995031834727, 7.155399503183473]

-- Results table: two campaigns x two segments, with NULLs to skip.
CREATE TABLE campaign_results (campaign text, segment text, customer_id int, treated boolean, revenue numeric);
INSERT INTO campaign_results
SELECT CASE WHEN i % 2 = 0 THEN 'VIP' ELSE 'Winback' END,
       CASE WHEN i % 3 = 0 THEN 'Champions' ELSE 'At Risk' END,
       i, i % 5 <> 0,
       round((20 + (i * 7919 % 101) / 5.0 + CASE WHEN i % 5 <> 0 AND i % 2 = 0 THEN 15 ELSE 0 END)::numeric, 2)
FROM generate_series(1, 2000) i;
INSERT INTO campaign_results VALUES ('VIP', 'Champions', 9001, true, NULL), ('VIP', 'Champions', 9002, NULL, 10);
CREATE TABLE campaign_costs (campaign text, cost numeric);
INSERT INTO campaign_costs VALUES ('VIP', 5000), ('VIP', 2000), ('Winback', 3000);

SELECT campaign, (u).treated_n, (u).control_n, round((u).uplift::numeric, 4) AS uplift,
       round((u).ci_low::numeric, 4) AS ci_low, round((u).ci_high::numeric, 4) AS ci_high,
       (u).p_value < 0.001 AS significant, (u).skipped_rows
FROM (SELECT campaign, crm.campaign_uplift(treated, revenue::float8) AS u
      FROM campaign_results GROUP BY campaign) s ORDER BY campaign;

-- Per campaign and segment, and at 90% confidence (narrower).
SELECT campaign, segment, (u).treated_n, round((u).uplift::numeric, 4) AS uplift
FROM (SELECT campaign, segment, crm.campaign_uplift(treated, revenue::float8) AS u
      FROM campaign_results GROUP BY campaign, segment) s ORDER BY 1, 2;
SELECT ((crm.campaign_uplift(treated, revenue::float8, 0.90)).ci_high - (crm.campaign_uplift(treated, revenue::float8, 0.90)).ci_low)
     < ((crm.campaign_uplift(treated, revenue::float8)).ci_high - (crm.campaign_uplift(treated, revenue::float8)).ci_low)
       AS ninety_is_narrower
FROM campaign_results WHERE campaign = 'VIP';

-- The one-call report: ROI, its interval and a verdict per campaign.
SELECT campaign, treated_n, control_n, round(uplift::numeric, 3) AS uplift,
       round(incremental_revenue::numeric, 2) AS incremental_revenue, cost,
       round(roi_pct::numeric, 2) AS roi_pct, round(roi_ci_low::numeric, 2) AS roi_low,
       round(roi_ci_high::numeric, 2) AS roi_high, verdict
FROM crm.campaign_report('campaign_results', 'campaign', 'treated', 'revenue',
                         'campaign_costs', 'campaign', 'cost');
-- ROI agrees with campaign_roi on the incremental revenue.
SELECT round(r.roi_pct::numeric, 6) = round(crm.campaign_roi(r.incremental_revenue::numeric, r.cost), 6) AS same_roi
FROM crm.campaign_report('campaign_results', 'campaign', 'treated', 'revenue',
                         'campaign_costs', 'campaign', 'cost') r;

-- No control group, a side with one row, no cost: inconclusive, not an error.
CREATE TABLE tiny (campaign text, treated boolean, revenue float8);
INSERT INTO tiny VALUES ('A', true, 5), ('A', true, 7), ('B', true, 5), ('B', false, 1), ('B', false, 2),
                        ('C', true, 50), ('C', true, 52), ('C', false, 1), ('C', false, 2);
SELECT campaign, treated_n, control_n, uplift, roi_pct, roi_ci_low, verdict
FROM crm.campaign_report('tiny', 'campaign', 'treated', 'revenue', 'campaign_costs', 'campaign', 'cost');

-- Conversion uplift: 30/100 vs 20/100.
SELECT treated_rate, control_rate, round(uplift::numeric, 6) AS uplift, round(incremental_conversions::numeric, 6) AS incremental,
       round(ci_low::numeric, 6) AS ci_low, round(ci_high::numeric, 6) AS ci_high, round(p_value::numeric, 6) AS p_value
FROM (SELECT (crm.conversion_uplift(arm, i <= CASE WHEN arm THEN 30 ELSE 20 END)).*
      FROM generate_series(1, 100) i, (VALUES (true), (false)) a(arm)) x;

-- Empty input: NULL; NULL arm counted.
SELECT crm.campaign_uplift(treated, revenue) IS NULL AS empty_is_null FROM tiny WHERE false;
SELECT (crm.conversion_uplift(NULL, true)).skipped_rows;

-- Parallel: Partial Aggregate under Gather; same answer as serial.
CREATE TABLE big_results AS
SELECT i % 4 AS campaign, i % 3 <> 0 AS treated, ((i * 7919) % 1000) / 10.0 + (i % 3 <> 0)::int * 2 AS revenue
FROM generate_series(1, 200000) i;
ANALYZE big_results;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT crm.campaign_uplift(treated, revenue), crm.conversion_uplift(treated, revenue > 50) FROM big_results;
-- The parallel plan's result equals the serial one (whether or not workers
-- launch on a busy machine, the plan combines partial states).
SET max_parallel_workers_per_gather = 0;
SELECT (crm.campaign_uplift(treated, revenue)).ci_low AS serial_ci_low,
       (crm.campaign_uplift(treated, revenue)).treated_n AS serial_n,
       (crm.conversion_uplift(treated, revenue > 50)).p_value AS serial_p FROM big_results \gset
SET max_parallel_workers_per_gather = 2;
SELECT abs((crm.campaign_uplift(treated, revenue)).ci_low - :serial_ci_low) < 1e-9 AS same_interval,
       (crm.campaign_uplift(treated, revenue)).treated_n = :serial_n AS same_n,
       abs((crm.conversion_uplift(treated, revenue > 50)).p_value - :serial_p) < 1e-12 AS same_conversion
FROM big_results;
RESET max_parallel_workers_per_gather;

-- Errors.
SELECT sqlstate_of($$SELECT crm.campaign_uplift(true, 'NaN')$$);
SELECT sqlstate_of($$SELECT crm.campaign_uplift(true, '-Infinity')$$);
SELECT sqlstate_of($$SELECT crm.campaign_uplift(true, 1, 1.5)$$);
SELECT sqlstate_of($$SELECT crm.campaign_uplift(true, 1, NULL)$$);
SELECT sqlstate_of($$SELECT crm.campaign_uplift(treated, revenue, CASE WHEN revenue > 50 THEN 0.9 ELSE 0.95 END) FROM big_results$$);
SELECT sqlstate_of($$SELECT crm.conversion_uplift(true, true, 0)$$);
SELECT sqlstate_of($$SELECT * FROM crm.campaign_report('tiny', 'nope', 'treated', 'revenue', 'campaign_costs', 'campaign', 'cost')$$);
SELECT sqlstate_of($$SELECT * FROM crm.campaign_report('tiny', 'campaign', 'treated', 'revenue', 'campaign_costs', 'campaign', NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.campaign_report('no_table', 'campaign', 'treated', 'revenue', 'campaign_costs', 'campaign', 'cost')$$);
INSERT INTO campaign_costs VALUES ('Winback', -9000);
SELECT sqlstate_of($$SELECT * FROM crm.campaign_report('campaign_results', 'campaign', 'treated', 'revenue', 'campaign_costs', 'campaign', 'cost')$$);
DELETE FROM campaign_costs WHERE cost < 0;
INSERT INTO campaign_costs VALUES ('Winback', 'NaN');
SELECT sqlstate_of($$SELECT * FROM crm.campaign_report('campaign_results', 'campaign', 'treated', 'revenue', 'campaign_costs', 'campaign', 'cost')$$);
