-- Monthly cohort retention over 5M orders of 500k customers across three years, against the bare
-- GROUP BY floor used for RFM (one scan, one hash aggregate per customer: #15's target, within 1.3x)
-- and against the plain SQL an analyst writes (first-order month per customer, join back, count
-- distinct per cohort and month). Ours adds the zero rows, revenue and revenue retention.

-- @setup
CREATE TABLE IF NOT EXISTS bench_cohort_orders AS
SELECT (hashint4(g) & 2147483647) % 500000 AS customer_id,
       date '2024-01-01' + (hashint4(g * 3) & 2147483647) % 1095 AS ordered_on,
       ((hashint4(g * 7) & 2147483647) % 10000) / 100.0 AS amount
FROM generate_series(1, 5000000) g;
VACUUM ANALYZE bench_cohort_orders;

-- @ours crm.cohort_retention, month
SELECT count(*), sum(active) FROM crm.cohort_retention('bench_cohort_orders', 'customer_id', 'ordered_on', 'amount');

-- @baseline GROUP BY floor (last order, count, sum per customer)
SELECT count(*), sum(n) FROM (SELECT customer_id, max(ordered_on), count(*) AS n, sum(amount)
                              FROM bench_cohort_orders GROUP BY customer_id) s;

-- @baseline plain SQL cohort counts and revenue
SELECT count(*), sum(active) FROM (
  WITH firsts AS (SELECT customer_id, date_trunc('month', min(ordered_on))::date AS cohort
                  FROM bench_cohort_orders GROUP BY customer_id),
       sizes AS (SELECT cohort, count(*) AS customers FROM firsts GROUP BY cohort)
  SELECT f.cohort, date_trunc('month', o.ordered_on)::date AS month, s.customers,
         count(DISTINCT o.customer_id) AS active, count(DISTINCT o.customer_id)::float8 / s.customers AS retention,
         sum(o.amount) AS revenue
  FROM bench_cohort_orders o JOIN firsts f USING (customer_id) JOIN sizes s USING (cohort)
  GROUP BY f.cohort, 2, s.customers) t;
