-- Campaign uplift over 10M per-customer result rows in 20 campaigns.

-- @setup
DROP TABLE IF EXISTS bench_campaign_results;
CREATE TABLE bench_campaign_results AS
SELECT (i % 20) AS campaign, (hashint8(i) & 7) <> 0 AS treated,
       ((hashint8(i * 7) & 65535) / 655.36 + CASE WHEN (hashint8(i) & 7) <> 0 THEN 3 ELSE 0 END)::float8 AS revenue
FROM generate_series(1, 10000000) i;
VACUUM ANALYZE bench_campaign_results;

-- @ours crm.campaign_uplift (Welch interval and p-value) GROUP BY campaign
SELECT count(*), sum((u).uplift), sum((u).ci_low), sum((u).p_value)
FROM (SELECT campaign, crm.campaign_uplift(treated, revenue) AS u
      FROM bench_campaign_results GROUP BY campaign) s;

-- @baseline plain SQL: avg, var_samp, count with a CASE per arm, then the formula (normal quantile)
SELECT count(*), sum(uplift), sum(uplift - 1.959964 * se), sum(se)
FROM (SELECT campaign, avg_t - avg_c AS uplift, sqrt(var_t / n_t + var_c / n_c) AS se
      FROM (SELECT campaign,
                   avg(CASE WHEN treated THEN revenue END) AS avg_t,
                   avg(CASE WHEN NOT treated THEN revenue END) AS avg_c,
                   var_samp(CASE WHEN treated THEN revenue END) AS var_t,
                   var_samp(CASE WHEN NOT treated THEN revenue END) AS var_c,
                   count(CASE WHEN treated THEN 1 END) AS n_t,
                   count(CASE WHEN NOT treated THEN 1 END) AS n_c
            FROM bench_campaign_results GROUP BY campaign) a) b;
