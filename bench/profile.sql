-- crm.customer_profile for 500k customers (about 5M orders, two years; each customer buys at their own
-- pace and stops after their own geometric number of orders, so BG/NBD is identified) against the bare
-- GROUP BY floor used for RFM (one scan, one hash aggregate) and against the plain SQL an analyst writes
-- for an RFM profile with NTILE scores and CASE tags (no CLV: plain SQL has no BG/NBD).
-- Target (#15): within 3x of the GROUP BY floor.

-- @setup
CREATE TABLE IF NOT EXISTS bench_profile_orders AS
WITH customers AS (
    SELECT c, abs(hashint4(c * 3)) % 300 AS start_day, 3 + abs(hashint4(c * 7)) % 60 AS mean_gap,
           1 + floor(-ln((1 + abs(hashint4(c * 13)) % 9973) / 9974.0) * (2 + abs(hashint4(c * 17)) % 24))::int AS n
    FROM generate_series(1, 500000) c),
orders AS (
    SELECT u.c, k, u.start_day + sum(CASE WHEN k = 0 THEN 0
                                          ELSE ceil(-ln((1 + abs(hashint4(u.c * 1000 + k)) % 9973) / 9974.0) * u.mean_gap) END)
                                     OVER (PARTITION BY u.c ORDER BY k) AS day
    FROM customers u, generate_series(0, u.n - 1) k)
SELECT c AS customer_id, date '2023-01-01' + day::int AS order_date,
       round((10 + abs(hashint4(c * 11)) % 150 + abs(hashint4(c * 1000 + k + 7)) % 40)::numeric, 2) AS amount
FROM orders WHERE day <= 730;
VACUUM ANALYZE bench_profile_orders;

-- @ours crm.customer_profile (RFM, CLV models, value tiers, tags, next best action)
SELECT count(*), count(*) FILTER (WHERE 'vip' = ANY (tags)), count(DISTINCT next_best_action)
FROM crm.customer_profile('bench_profile_orders', 'customer_id', 'order_date', 'amount', as_of => '2024-12-31');

-- @baseline GROUP BY floor (last order, count, sum per customer)
SELECT count(*), sum(n), sum(m) FROM (
  SELECT customer_id, max(order_date) AS last, count(*) AS n, sum(amount) AS m
  FROM bench_profile_orders WHERE order_date <= date '2024-12-31' GROUP BY customer_id) s;

-- @baseline plain SQL RFM profile: NTILE scores and CASE tags
SELECT count(*), count(*) FILTER (WHERE 'loyal' = ANY (tags)), count(DISTINCT action) FROM (
  SELECT *, CASE WHEN 'loyal' = ANY (tags) THEN 'membership_invite' WHEN 'big_spender' = ANY (tags) THEN 'vip_service'
                 ELSE 'standard_communication' END AS action
  FROM (
    SELECT *, array_remove(ARRAY[CASE WHEN f >= 4 AND r >= 4 THEN 'loyal' END,
                                 CASE WHEN mm = 5 THEN 'big_spender' END,
                                 CASE WHEN f >= 3 AND mm <= 2 THEN 'bargain_hunter' END], NULL) AS tags
    FROM (
      SELECT customer_id, ntile(5) OVER (ORDER BY date '2024-12-31' - last DESC) AS r,
             ntile(5) OVER (ORDER BY n) AS f, ntile(5) OVER (ORDER BY m) AS mm
      FROM (SELECT customer_id, max(order_date) AS last, count(*) AS n, sum(amount) AS m
            FROM bench_profile_orders WHERE order_date <= date '2024-12-31' GROUP BY customer_id) a) s) t) u;
