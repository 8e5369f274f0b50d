-- CLV in one call over crm_sample.orders (scale 250: about 5M orders, 500k customers): per-customer
-- summaries, BG/NBD and Gamma-Gamma fits, then scoring every customer. Target: within 2x of the
-- bare per-customer GROUP BY.

-- @ours crm.clv_analyze (summaries, both fits, P(alive), E[Y], spend, CLV, churn tier per customer)
SELECT count(*), sum(frequency), sum(recency), sum(age), sum(monetary), sum(p_alive), sum(expected_purchases),
       sum(expected_spend), sum(clv), max(churn_risk)
FROM crm.clv_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01');

-- @baseline floor: bare GROUP BY with max(date), count(*), sum(amount)
SELECT count(*), max(last_order), sum(frequency), sum(monetary)
FROM (SELECT customer_id, max(ordered_at) AS last_order, count(*) AS frequency, sum(amount) AS monetary
      FROM crm_sample.orders GROUP BY customer_id) s;
