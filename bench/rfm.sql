-- RFM over crm_sample.orders (scale 250: about 5M orders, 500k customers).
-- Every variant reduces its per-customer rows to one row that uses every
-- column, so no variant pays for sending rows and none can skip work.

-- @ours crm.rfm_analyze (quantile scores, cells, segments)
SELECT count(*), sum(recency_days), sum(frequency), sum(monetary), sum(r_score + f_score + m_score),
       max(rfm_cell), max(segment)
FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01');

-- @baseline plain SQL idiom: GROUP BY, then NTILE(5) three times
SELECT count(*), sum(recency_days), sum(frequency), sum(monetary), sum(r_score + f_score + m_score)
FROM (
  SELECT recency_days, frequency, monetary,
         ntile(5) OVER (ORDER BY recency_days DESC) AS r_score,
         ntile(5) OVER (ORDER BY frequency) AS f_score,
         ntile(5) OVER (ORDER BY monetary) AS m_score
  FROM (SELECT customer_id,
               date '2025-01-01' - max(ordered_at)::date AS recency_days,
               count(*) AS frequency,
               sum(amount) AS monetary
        FROM crm_sample.orders GROUP BY customer_id) s) t;

-- @baseline floor: bare GROUP BY with max(date), count(*), sum(amount)
SELECT count(*), max(last_order), sum(frequency), sum(monetary)
FROM (SELECT customer_id, max(ordered_at) AS last_order, count(*) AS frequency, sum(amount) AS monetary
      FROM crm_sample.orders GROUP BY customer_id) s;
