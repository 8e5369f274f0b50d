-- RFM over 5M orders with a `date` column and a `numeric` amount (#20's independent measurement: 500k
-- customers, two years), against the NTILE idiom and the bare GROUP BY floor. Targets (#20): at least 2x
-- faster than the idiom, no slower than the floor.

-- @setup
CREATE TABLE IF NOT EXISTS bench_rfm_date AS
SELECT (hashint4(g) & 524287) % 500000 AS customer_id, date '2024-01-01' + (abs(hashint4(g + 7)) % 700) AS order_date,
       round((abs(hashint4(g + 13)) % 20000) / 100.0 + 5, 2) AS amount
FROM generate_series(1, 5000000) g;
VACUUM ANALYZE bench_rfm_date;

-- @ours crm.rfm_analyze (quantile scores, cells, segments)
SELECT count(*), sum(recency_days), sum(frequency), sum(monetary), sum(r_score + f_score + m_score),
       max(rfm_cell), max(segment)
FROM crm.rfm_analyze('bench_rfm_date', 'customer_id', 'order_date', 'amount', as_of => '2025-12-01');

-- @baseline plain SQL idiom: GROUP BY, then NTILE(5) three times
SELECT count(*), sum(recency_days), sum(frequency), sum(monetary), sum(r_score + f_score + m_score)
FROM (
  SELECT recency_days, frequency, monetary,
         ntile(5) OVER (ORDER BY recency_days DESC) AS r_score,
         ntile(5) OVER (ORDER BY frequency) AS f_score,
         ntile(5) OVER (ORDER BY monetary) AS m_score
  FROM (SELECT customer_id, date '2025-12-01' - max(order_date) AS recency_days, count(*) AS frequency,
               sum(amount) AS monetary
        FROM bench_rfm_date GROUP BY customer_id) s) t;

-- @baseline floor: bare GROUP BY with max(date), count(*), sum(amount)
SELECT count(*), max(last_order), sum(frequency), sum(monetary)
FROM (SELECT customer_id, max(order_date) AS last_order, count(*) AS frequency, sum(amount) AS monetary
      FROM bench_rfm_date GROUP BY customer_id) s;
