-- RFM at #20's scales and column types, against the NTILE idiom and the bare GROUP BY floor. Targets (#20):
-- at least 2x faster than the idiom and no slower than the floor, for `date`, `timestamp` and
-- `timestamptz` order columns and `numeric` or `float8` amounts alike, at 5M orders / 500k customers
-- and at 20M orders / 2M customers. Each case below is one table; every block runs once per case. The first
case reads the bundled sample data that bench/run.sh loads (crm_sample.orders; scale 250 is 4.6M orders
of 500k customers), so its setup creates nothing.

-- @case sample data, timestamptz, numeric
-- :tbl = crm_sample.orders
-- :orders = 0
-- :customer = 0
-- :ordered_at = now()
-- :amount = 0
-- :as_of = timestamptz '2025-01-01'
-- :recency = date '2025-01-01' - max(ordered_at)::date

-- @case 5M, date, numeric
-- :tbl = bench_rfm_date
-- :orders = 5000000
-- :customer = (hashint4(g) & 524287) % 500000
-- :ordered_at = date '2024-01-01' + (abs(hashint4(g + 7)) % 700)
-- :amount = round((abs(hashint4(g + 13)) % 20000) / 100.0 + 5, 2)
-- :as_of = date '2025-12-01'
-- :recency = date '2025-12-01' - max(ordered_at)

-- @case 5M, timestamp, numeric
-- :tbl = bench_rfm_timestamp
-- :orders = 5000000
-- :customer = (hashint4(g) & 524287) % 500000
-- :ordered_at = timestamp '2024-01-01' + (abs(hashint4(g + 7)) % 700) * interval '1 day' + (abs(hashint4(g + 3)) % 86400) * interval '1 second'
-- :amount = round((abs(hashint4(g + 13)) % 20000) / 100.0 + 5, 2)
-- :as_of = timestamp '2025-12-01'
-- :recency = floor(extract(epoch FROM timestamp '2025-12-01' - max(ordered_at)) / 86400)

-- @case 5M, timestamptz, float8
-- :tbl = bench_rfm_timestamptz
-- :orders = 5000000
-- :customer = (hashint4(g) & 524287) % 500000
-- :ordered_at = timestamptz '2024-01-01 00:00+00' + (abs(hashint4(g + 7)) % 700) * interval '1 day' + (abs(hashint4(g + 3)) % 86400) * interval '1 second'
-- :amount = ((abs(hashint4(g + 13)) % 20000) / 100.0 + 5)::float8
-- :as_of = timestamptz '2025-12-01 00:00+00'
-- :recency = floor(extract(epoch FROM timestamptz '2025-12-01 00:00+00' - max(ordered_at)) / 86400)

-- @case 20M / 2M customers, date, numeric
-- :tbl = bench_rfm_20m
-- :orders = 20000000
-- :customer = abs(hashint4(g)) % 2000000
-- :ordered_at = date '2021-01-01' + (abs(hashint4(g + 7)) % 2000)
-- :amount = round((abs(hashint4(g + 13)) % 20000) / 100.0 + 5, 2)
-- :as_of = date '2026-06-30'
-- :recency = date '2026-06-30' - max(ordered_at)

-- @setup
CREATE TABLE IF NOT EXISTS :tbl AS
SELECT :customer AS customer_id, :ordered_at AS ordered_at, :amount AS amount
FROM generate_series(1, :orders) g;
VACUUM ANALYZE :tbl;

-- @ours crm.rfm_analyze (quantile scores, cells, segments)
SELECT count(*), sum(recency_days), sum(frequency), sum(monetary), sum(r_score + f_score + m_score),
       max(rfm_cell), max(segment)
FROM crm.rfm_analyze(:'tbl', 'customer_id', 'ordered_at', 'amount', as_of => :as_of);

-- @baseline plain SQL idiom: GROUP BY, then NTILE(5) three times
SELECT count(*), sum(recency_days), sum(frequency), sum(monetary), sum(r_score + f_score + m_score)
FROM (
  SELECT recency_days, frequency, monetary,
         ntile(5) OVER (ORDER BY recency_days DESC) AS r_score,
         ntile(5) OVER (ORDER BY frequency) AS f_score,
         ntile(5) OVER (ORDER BY monetary) AS m_score
  FROM (SELECT customer_id, :recency AS recency_days, count(*) AS frequency, sum(amount) AS monetary
        FROM :tbl GROUP BY customer_id) s) t;

-- @baseline floor: bare GROUP BY with max(ordered_at), count(*), sum(amount)
SELECT count(*), max(last_order), sum(frequency), sum(monetary)
FROM (SELECT customer_id, max(ordered_at) AS last_order, count(*) AS frequency, sum(amount) AS monetary
      FROM :tbl GROUP BY customer_id) s;
