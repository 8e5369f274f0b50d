-- crm.rfm_analyze: values checked against independent SQL computations
-- (percentile_cont is type-7 interpolation; NTILE is PostgreSQL's own).
\set VERBOSITY terse

SET TimeZone = 'UTC';
CREATE TABLE orders (customer_id int, ordered_at date, amount numeric);
-- 60 customers with varied, tied and negative (refund) values
INSERT INTO orders
SELECT c, date '2024-12-31' - ((c * 37) % 200) - k * 3, ((c * 13) % 50) + k * 1.25 - CASE WHEN k = 2 THEN 40 ELSE 0 END
FROM generate_series(1, 60) c, generate_series(1, 1 + (c * 7) % 6) k;

-- Hand-checkable customer: 3 orders, last on 2024-12-01, 10 + 20 - 5 = 25
INSERT INTO orders VALUES (100, '2024-11-01', 10), (100, '2024-12-01', 20), (100, '2024-11-15', -5);

SELECT customer_key, recency_days, frequency, monetary
FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')
WHERE customer_key = 100;

-- Reference: per-customer summary, type-7 cut points and right-closed scores in plain SQL.
CREATE TEMP TABLE ref AS
WITH s AS (
  SELECT customer_id, date '2025-01-01' - max(ordered_at) AS r, count(*) AS f, sum(amount)::float8 AS m
  FROM orders GROUP BY customer_id),
cuts AS (
  SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY r) AS rc,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY f) AS fc,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY m) AS mc FROM s)
SELECT s.*,
       5 - (SELECT count(*) FROM unnest(rc) c WHERE c < s.r)::int AS rs,
       1 + (SELECT count(*) FROM unnest(fc) c WHERE c < s.f)::int AS fs,
       1 + (SELECT count(*) FROM unnest(mc) c WHERE c < s.m)::int AS ms
FROM s, cuts;

SELECT count(*) AS customers,
       count(*) FILTER (WHERE a.recency_days <> ref.r OR a.frequency <> ref.f
                        OR abs(a.monetary - ref.m) > 1e-9) AS value_mismatches,
       count(*) FILTER (WHERE (a.r_score, a.f_score, a.m_score) <> (ref.rs, ref.fs, ref.ms)) AS score_mismatches,
       count(*) FILTER (WHERE a.rfm_cell <> a.r_score::text || a.f_score || a.m_score) AS cell_mismatches,
       count(*) FILTER (WHERE a.segment <> crm.rfm_segment(a.r_score, a.f_score)) AS segment_mismatches
FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01') a
JOIN ref ON ref.customer_id = a.customer_key;

-- Equal values always get equal scores.
SELECT count(*) AS tied_values_with_different_scores FROM (
  SELECT frequency FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')
  GROUP BY frequency HAVING count(DISTINCT f_score) > 1) t;

-- method => 'ntile' reproduces NTILE ordered by the value, then the key.
WITH s AS (
  SELECT customer_id, date '2025-01-01' - max(ordered_at) AS r, count(*) AS f, sum(amount)::float8 AS m
  FROM orders GROUP BY customer_id),
n AS (
  SELECT customer_id,
         ntile(4) OVER (ORDER BY r DESC, customer_id) AS rs,
         ntile(4) OVER (ORDER BY f, customer_id) AS fs,
         ntile(4) OVER (ORDER BY m, customer_id) AS ms FROM s)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (a.r_score, a.f_score, a.m_score) <> (n.rs, n.fs, n.ms)) AS ntile_mismatches
FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01',
                     bins => 4, method => 'ntile') a
JOIN n ON n.customer_id = a.customer_key;

-- Segment sizes of the default grid on this data.
SELECT segment, count(*)
FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')
GROUP BY segment ORDER BY segment;

-- A custom segment map.
SELECT segment, count(*)
FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01', bins => 3,
                     segment_map => '{"Active": ["3*", "2[2-3]"], "Lapsing": "21", "Gone": ["1*"]}')
GROUP BY segment ORDER BY segment;

-- NULLs and orders after as_of are skipped and counted in one NOTICE.
INSERT INTO orders VALUES (NULL, '2024-06-01', 5), (1, NULL, 5), (1, '2024-06-01', NULL), (1, '2025-06-01', 5);
SELECT count(*) FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01');
-- A customer whose only rows are skipped does not appear.
INSERT INTO orders VALUES (200, NULL, 1);
SELECT count(*) FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')
WHERE customer_key = 200;

-- Timestamps: recency is whole days, floored.
CREATE TABLE orders_ts (cid bigint, at timestamptz, amount float8);
INSERT INTO orders_ts VALUES (1, '2024-12-31 23:00+00', 1), (2, '2024-12-30 01:00+00', 2), (3, '2024-01-01', 3);
SELECT customer_key, recency_days, monetary
FROM crm.rfm_analyze('orders_ts', 'cid', 'at', 'amount', as_of => '2025-01-01 12:00+00') ORDER BY 1;

-- Text and uuid keys come back with their own type and join without casts.
CREATE TABLE customers_text (code text PRIMARY KEY, name text);
INSERT INTO customers_text VALUES ('C-1', 'Ann'), ('C-2', 'Bob');
CREATE TABLE orders_text (code text, day date, amount int);
INSERT INTO orders_text VALUES ('C-1', '2024-12-01', 10), ('C-1', '2024-12-20', 30), ('C-2', '2024-01-01', 5);
SELECT c.name, r.frequency, r.monetary, pg_typeof(r.customer_key)
FROM customers_text c
JOIN crm.rfm_analyze_typed('orders_text', 'code', 'day', 'amount', NULL::text, '2025-01-01', bins => 2) r
  ON r.customer_key = c.code
ORDER BY c.name;
CREATE TABLE orders_uuid (id uuid, day date, amount real);
INSERT INTO orders_uuid VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-12-01', 10);
SELECT customer_key, pg_typeof(customer_key)
FROM crm.rfm_analyze_typed('orders_uuid', 'id', 'day', 'amount', key_type => NULL::uuid);
-- integer column, int result
SELECT pg_typeof(customer_key) FROM crm.rfm_analyze_typed('orders', 'customer_id', 'ordered_at', 'amount',
                                                          NULL::int, '2025-01-01') LIMIT 1;

-- Empty table: no rows.
CREATE TABLE orders_empty (LIKE orders);
SELECT count(*) FROM crm.rfm_analyze('orders_empty', 'customer_id', 'ordered_at', 'amount');

-- Quoted identifiers: odd table and column names are quoted, never spliced.
CREATE TABLE "Odd ""Orders""" ("Customer Id" int, "when; DROP TABLE orders" date, "€" numeric);
INSERT INTO "Odd ""Orders""" VALUES (1, '2024-01-01', 1);
SELECT customer_key, frequency
FROM crm.rfm_analyze('"Odd ""Orders"""', 'Customer Id', 'when; DROP TABLE orders', '€', '2025-01-01');
SELECT count(*) > 0 AS orders_still_there FROM orders;

-- Errors, each with its SQLSTATE.
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'nope', 'ordered_at', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'nope', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'nope')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('no_such_table', 'customer_id', 'ordered_at', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze(0::regclass, 'customer_id', 'ordered_at', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders_text', 'code', 'day', 'code')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders_text', 'code', 'amount', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders_text', 'code', 'day', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', bins => 1)$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', bins => 11)$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', method => 'median')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', NULL, 'ordered_at', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => 'infinity')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', segment_map => '[1]')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', segment_map => '{"A": "5*"}')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', segment_map => '{"A": "**", "B": "11"}')$$);
SELECT sqlstate_of($$SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', segment_map => '{"A": 5}')$$);
