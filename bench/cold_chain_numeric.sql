-- #20's own cold-chain data set, as the issue gives it: 10M readings of 10k shipments, one a minute,
-- tau 60 to 259 minutes, the temperature a numeric made by numeric exp() (20 and more digits).
-- crm.temp_fit and crm.cold_chain_alerts over the numeric column (their numeric forms) against the bare
-- grouped scan of the same column. Targets (#20): within 2x and 2.5x.

-- @setup
DROP TABLE IF EXISTS bench_issue_readings;
CREATE TABLE bench_issue_readings AS
SELECT s, timestamptz '2026-01-01' + g * interval '1 minute' ts,
       (s % 7) - 3 + (20 + s % 11 - ((s % 7) - 3)) * (1 - exp(-g / (60.0 + s % 200)))
         + ((hashint4(s * 1000 + g) % 1000) / 3000.0) temp
FROM generate_series(1, 10000) s, generate_series(1, 1000) g;
VACUUM ANALYZE bench_issue_readings;

-- @ours crm.temp_fit(ts, temp) per shipment, temp numeric
SELECT count(*), count(*) FILTER (WHERE (m).converged), avg((m).rmse)
FROM (SELECT s, crm.temp_fit(ts, temp) AS m FROM bench_issue_readings GROUP BY s) f;

-- @ours crm.cold_chain_alerts on the numeric column, upper limit 8, two-hour horizon
SELECT count(*), count(*) FILTER (WHERE status = 'breached'), avg(mean_kinetic_temperature)
FROM crm.cold_chain_alerts('bench_issue_readings', 's', 'ts', 'temp', 8, as_of => '2026-01-02');

-- @baseline bare scan grouped by shipment: count(*), avg(temp)
SELECT count(*), sum(n), avg(a)
FROM (SELECT s, count(*) AS n, avg(temp) AS a FROM bench_issue_readings GROUP BY s) f;
