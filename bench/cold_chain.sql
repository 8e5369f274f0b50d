-- Cold-chain fits: 10M readings in 10k shipments (1,000 readings each, every
-- 30 s with noise; half warming, half cooling), grouped by shipment.

-- @setup
DROP TABLE IF EXISTS bench_readings;
CREATE TABLE bench_readings AS
SELECT s AS shipment_id,
       timestamptz '2025-01-01' + k * interval '30 seconds' AS read_at,
       crm.temp_predict(4 + (s % 3), CASE WHEN s % 2 = 0 THEN 20 ELSE 1 END,
                        (60 + s % 120) * interval '1 minute', k * interval '30 seconds')
         + ((hashint8(s * 1000 + k) & 1023) - 511.5) / 2000.0 AS temp_c
FROM generate_series(1, 10000) s, generate_series(0, 999) k;
VACUUM ANALYZE bench_readings;

-- @ours crm.temp_fit per shipment (fit of T0, ambient and tau)
SELECT count(*), count(*) FILTER (WHERE (m).converged), avg((m).rmse)
FROM (SELECT shipment_id, crm.temp_fit(read_at, temp_c) AS m FROM bench_readings GROUP BY shipment_id) f;

-- @baseline bare scan grouped by shipment: count and avg
SELECT count(*), sum(n), avg(a)
FROM (SELECT shipment_id, count(*) AS n, avg(temp_c) AS a FROM bench_readings GROUP BY shipment_id) f;
