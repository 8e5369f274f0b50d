-- crm.cold_chain_alerts over the 10M readings of 10k shipments that bench/cold_chain.sql's setup makes
-- (it runs first, as bench/run.sh runs the files in alphabetical order): fit, forecast, time above the
-- limit and mean kinetic temperature per shipment, against the grouped scan. Target (#20): within 2.5x.

-- @ours crm.cold_chain_alerts, upper limit 8 degC, two-hour horizon
SELECT count(*), count(*) FILTER (WHERE status = 'breached'), avg(mean_kinetic_temperature)
FROM crm.cold_chain_alerts('bench_readings', 'shipment_id', 'read_at', 'temp_c', 8, as_of => '2025-01-02');

-- @baseline bare scan grouped by shipment: count and avg
SELECT count(*), sum(n), avg(a)
FROM (SELECT shipment_id, count(*) AS n, avg(temp_c) AS a FROM bench_readings GROUP BY shipment_id) f;
