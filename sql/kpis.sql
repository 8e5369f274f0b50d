-- Survey KPIs: crm.nps and crm.csat against hand-computed closed forms.
CREATE TABLE survey (id int, store text, nps_answer float8, csat_answer float8);
INSERT INTO survey VALUES
  (1, 'a', 10, 5), (2, 'a', 9, 4), (3, 'a', 9, 4), (4, 'a', 8, 3), (5, 'a', 7, 2),
  (6, 'b', 6, 5), (7, 'b', 0, 1), (8, 'b', 3, 4), (9, 'b', 10, NULL), (10, 'b', 5, NULL),
  (11, 'b', NULL, NULL);
-- 4 promoters (10, 9, 9, 10), 2 passives (8, 7), 4 detractors (6, 0, 3, 5) of 10:
-- NPS 0, interval 0 +- 100 * 1.959964 * sqrt((0.4 + 0.4 - 0) / 10) = +- 55.4362.
SELECT (r).responses, (r).promoters, (r).passives, (r).detractors, round((r).nps::numeric, 4) AS nps,
       round((r).ci_low::numeric, 4) AS ci_low, round((r).ci_high::numeric, 4) AS ci_high
FROM (SELECT crm.nps(nps_answer) r FROM survey) s;
-- The result's fields are named in to_jsonb, for applications and BI tools.
SELECT to_jsonb(crm.nps(nps_answer)) - 'ci_low' - 'ci_high' AS nps_json FROM survey;
-- At 90%: 0 - 100 * 1.644854 * sqrt(0.08) = -46.5235.
SELECT round(((crm.nps(nps_answer, 0.9)).ci_low)::numeric, 4) AS ci_low_90 FROM survey;
-- 5 of 8 answers are 4 or 5: CSAT 62.5, Wilson interval [30.5742, 86.3156].
SELECT (r).responses, (r).satisfied, round((r).csat::numeric, 4) AS csat,
       round((r).ci_low::numeric, 4) AS ci_low, round((r).ci_high::numeric, 4) AS ci_high
FROM (SELECT crm.csat(csat_answer) r FROM survey) s;
-- Per group, as a BI tool would ask; all promoters give 100 with a zero-width interval.
SELECT store, (crm.nps(nps_answer)).nps, (crm.csat(csat_answer)).csat FROM survey GROUP BY store ORDER BY store;
SELECT (r).nps, (r).ci_low, (r).ci_high FROM (SELECT crm.nps(x) r FROM (VALUES (9.0), (10.0), (9.0)) v(x)) s;
-- No rows (or only NULLs) give NULL; one answer gives a NULL interval.
SELECT crm.nps(nps_answer) IS NULL AS empty_is_null FROM survey WHERE false;
SELECT crm.csat(csat_answer) IS NULL AS only_nulls_is_null FROM survey WHERE csat_answer IS NULL;
SELECT (r).nps, (r).ci_low IS NULL AS no_interval FROM (SELECT crm.nps(x) r FROM (VALUES (10.0)) v(x)) s;
-- Bad answers and options are errors with SQLSTATEs.
SELECT sqlstate_of($$SELECT crm.nps(x) FROM (VALUES (11.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.nps(x) FROM (VALUES (7.5)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.nps(x) FROM (VALUES ('NaN'::float8)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.csat(x) FROM (VALUES (0.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.csat(x, 1.5) FROM (VALUES (4.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.csat(x, NULL) FROM (VALUES (4.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.nps(x, c) FROM (VALUES (4.0, 0.9), (5.0, 0.95)) v(x, c)$$);
-- Partial states per shard combine to the one-pass result; NPS and CSAT states do not mix.
SELECT (SELECT crm.nps_combine(p) FROM (SELECT crm.nps_partial(nps_answer) p FROM survey GROUP BY store) s)
       = (SELECT crm.nps(nps_answer) FROM survey) AS nps_shards_agree,
       (SELECT crm.csat_combine(p) FROM (SELECT crm.csat_partial(csat_answer, 0.8) p FROM survey GROUP BY store) s)
       = (SELECT crm.csat(csat_answer, 0.8) FROM survey) AS csat_shards_agree;
SELECT sqlstate_of($$SELECT crm.csat_combine(p) FROM (SELECT crm.nps_partial(nps_answer) p FROM survey) s$$);
SELECT sqlstate_of($$SELECT crm.nps_combine('\x0102'::bytea)$$);
-- NULL partial states are skipped: only NULLs give NULL, a CSAT state after a NULL still combines.
SELECT crm.nps_combine(p) IS NULL AS only_null_states FROM (VALUES (NULL::bytea)) v(p);
SELECT (crm.csat_combine(p)).satisfied FROM (VALUES (NULL::bytea), ((SELECT crm.csat_partial(x) FROM (VALUES (4.0), (5.0), (2.0)) t(x)))) v(p);
-- Where the cluster grants workers, a parallel plan (combine, serial and deserial functions)
-- gives the same counts as plain SQL.
CREATE TABLE survey_big AS SELECT g AS id, (g * 7919) % 11 AS answer, (g * 7919) % 5 + 1 AS stars FROM generate_series(1, 20000) g;
ANALYZE survey_big;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT (r).responses, (r).promoters, (r).passives, (r).detractors, (c).satisfied
FROM (SELECT crm.nps(answer) r, crm.csat(stars) c FROM survey_big) s;
RESET ALL;
SELECT count(*) FILTER (WHERE answer >= 9) AS promoters, count(*) FILTER (WHERE answer <= 6) AS detractors,
       count(*) FILTER (WHERE stars >= 4) AS satisfied FROM survey_big;
DROP TABLE survey, survey_big;
-- Cohort retention. Jan cohort {a, b}: a comes back in Feb and Apr; Feb cohort {c}: back in Mar.
-- Rows with a NULL customer or date are skipped; the quoted column names must be quoted.
CREATE TABLE cohort_orders ("Customer ID" text, "order day" date, amount numeric);
INSERT INTO cohort_orders VALUES
  ('a', '2026-01-05', 10), ('a', '2026-02-10', 20), ('b', '2026-01-20', 5), ('c', '2026-02-01', 7),
  ('c', '2026-03-03', 3), ('a', '2026-04-30', 1), ('d', NULL, 1), (NULL, '2026-01-01', 1);
SELECT * FROM crm.cohort_retention('cohort_orders', 'Customer ID', 'order day', 'amount');
-- Quarters, without amounts (revenue NULL); ISO weeks start on Monday (2026-02-01 is a Sunday).
SELECT * FROM crm.cohort_retention('cohort_orders', 'Customer ID', 'order day', period => 'quarter');
SELECT cohort, period_number, active FROM crm.cohort_retention('cohort_orders', 'Customer ID', 'order day', 'amount', 'week')
WHERE active > 0;
-- timestamptz is cut in the session TimeZone: 23:30 UTC on 31 January is 1 February in Tokyo.
CREATE TABLE cohort_events (customer uuid, at timestamptz);
INSERT INTO cohort_events VALUES ('00000000-0000-0000-0000-000000000001', '2026-01-31 23:30:00+00'),
                                 ('00000000-0000-0000-0000-000000000002', '2026-01-15 12:00:00+00');
SET TimeZone = 'UTC';
SELECT cohort, period_number, customers FROM crm.cohort_retention('cohort_events', 'customer', 'at');
SET TimeZone = 'Asia/Tokyo';
SELECT cohort, period_number, customers FROM crm.cohort_retention('cohort_events', 'customer', 'at');
RESET TimeZone;
-- The same counts as the plain SQL an analyst writes, on integer keys.
CREATE TABLE cohort_big AS SELECT (g * 37) % 500 AS customer_id, date '2025-01-01' + (g * 7919) % 700 AS ordered_on
FROM generate_series(1, 5000) g;
WITH firsts AS (SELECT customer_id, date_trunc('month', min(ordered_on))::date AS cohort FROM cohort_big GROUP BY 1),
     plain AS (SELECT f.cohort, date_trunc('month', o.ordered_on)::date AS p, count(DISTINCT o.customer_id) AS active
               FROM cohort_big o JOIN firsts f USING (customer_id) GROUP BY 1, 2),
     ours AS (SELECT cohort, (cohort + make_interval(months => period_number))::date AS p, active
              FROM crm.cohort_retention('cohort_big', 'customer_id', 'ordered_on') WHERE active > 0)
SELECT (SELECT count(*) FROM plain) AS plain_rows,
       (SELECT count(*) FROM (SELECT * FROM plain EXCEPT SELECT * FROM ours) d) AS missing,
       (SELECT count(*) FROM (SELECT * FROM ours EXCEPT SELECT * FROM plain) d) AS extra;
-- Errors.
SELECT sqlstate_of($$SELECT * FROM crm.cohort_retention('cohort_orders', 'Customer ID', 'order day', period => 'day')$$);
SELECT sqlstate_of($$SELECT * FROM crm.cohort_retention('cohort_orders', NULL, 'order day')$$);
SELECT sqlstate_of($$SELECT * FROM crm.cohort_retention('cohort_orders', 'customer', 'order day')$$);
-- No orders: no rows.
CREATE TABLE cohort_empty (customer bigint, ordered_on date);
SELECT count(*) AS empty_rows FROM crm.cohort_retention('cohort_empty', 'customer', 'ordered_on');
CREATE TABLE cohort_big_flow AS SELECT * FROM cohort_big;
CREATE TABLE cohort_empty_flow AS SELECT * FROM cohort_empty;
DROP TABLE cohort_orders, cohort_events, cohort_big, cohort_empty;

-- Customer flow and rates, on orders small enough to count by hand (docs/kpis.md):
-- c1 orders in Jan, Feb (twice), Apr; c2 in Jan; c3 in Feb, Mar (twice); c4 in Mar, May.
CREATE TABLE flow_orders (customer text, ordered_on date);
INSERT INTO flow_orders VALUES ('c1', '2024-01-05'), ('c1', '2024-02-10'), ('c1', '2024-02-20'), ('c1', '2024-04-01'),
    ('c2', '2024-01-15'), ('c3', '2024-02-01'), ('c3', '2024-03-01'), ('c3', '2024-03-02'),
    ('c4', '2024-03-15'), ('c4', '2024-05-31'), (NULL, '2024-02-02'), ('c5', NULL);
-- Jan: c1, c2 new. Feb: c3 new, c1 returns, c2 churns. Mar: c4 new, c3 returns, c1 churns. Apr: c1 is
-- reactivated, c3 and c4 churn. May: c4 reactivated, c1 churns. Base = customers who ordered this month.
SELECT * FROM crm.customer_flow('flow_orders', 'customer', 'ordered_on');
-- With two empty months allowed, c1 and c4 return rather than churn and reactivate.
SELECT period_start, active_customers, new_customers, returning_customers, reactivated_customers,
       churned_customers, customer_base
FROM crm.customer_flow('flow_orders', 'customer', 'ordered_on', inactive_periods => 2);
-- Window Feb-Mar: c1, c3, c4 active; c3, c4 new; c1 (2 orders) and c3 (3) repeat. Alive on 1 Feb with
-- 30 days: c1 (5 Jan), c2 (15 Jan); on 1 Apr: nobody (c1's last order 20 Feb < 2 Mar). With 45 days c1
-- is still alive on 1 Apr (20 Feb >= 16 Feb).
SELECT * FROM crm.customer_rates('flow_orders', 'customer', 'ordered_on', '2024-02-01', '2024-04-01', '30 days');
SELECT customers_at_start, retained, churned, retention_rate, churn_rate
FROM crm.customer_rates('flow_orders', 'customer', 'ordered_on', '2024-02-01', '2024-04-01', '45 days');
-- The base equals the plain-SQL count of customers with an order in the last inactive_periods quarters,
-- and base(p) = base(p - 1) + new + reactivated - churned, on 5,000 generated orders.
WITH ours AS (SELECT f.*, lag(customer_base) OVER (ORDER BY period_start) AS previous_base
              FROM crm.customer_flow('cohort_big_flow', 'customer_id', 'ordered_on', 'quarter', 2) f),
     plain AS (SELECT q.p, count(DISTINCT o.customer_id) AS base
               FROM (SELECT DISTINCT date_trunc('quarter', ordered_on)::date AS p FROM cohort_big_flow) q
               JOIN cohort_big_flow o ON date_trunc('quarter', o.ordered_on)::date IN (q.p, (q.p - interval '3 months')::date)
               GROUP BY q.p)
SELECT count(*) AS periods, count(*) FILTER (WHERE o.customer_base = p.base) AS base_matches,
       bool_and(o.customer_base = coalesce(o.previous_base, 0) + o.new_customers + o.reactivated_customers
                                  - o.churned_customers) AS identity_holds
FROM ours o JOIN plain p ON p.p = o.period_start;
-- Errors.
SELECT sqlstate_of($$SELECT * FROM crm.customer_flow('flow_orders', 'customer', 'ordered_on', 'year')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_flow('flow_orders', 'customer', 'ordered_on', inactive_periods => 0)$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_flow('flow_orders', 'customer', 'ordered_on', inactive_periods => 2147483647)$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_rates('flow_orders', 'customer', 'ordered_on', '2024-02-01', '2024-04-01', NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_flow('flow_orders', 'customer', NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_flow('flow_orders', 'customer', 'nope')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_rates('flow_orders', 'customer', 'ordered_on', '2024-04-01', '2024-04-01')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_rates('flow_orders', 'customer', 'ordered_on', '2024-02-01', '2024-04-01', '-1 day')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_rates('flow_orders', 'customer', 'ordered_on', '2024-02-01', 'infinity')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_rates('flow_orders', 'customer', 'ordered_on', NULL, '2024-04-01')$$);
-- An empty table: no flow rows; rates of nobody are NULL.
SELECT count(*) AS empty_flow FROM crm.customer_flow('cohort_empty_flow', 'customer', 'ordered_on');
SELECT * FROM crm.customer_rates('cohort_empty_flow', 'customer', 'ordered_on', '2024-01-01', '2024-02-01');
DROP TABLE flow_orders, cohort_big_flow, cohort_empty_flow;

-- Acquisition cost by hand (docs/kpis.md): spend in January 100 (search) + 50 (social), February 90 (search),
-- March 30 (social). a: first order 3 Jan (search), then 40 in Feb, 60 in Mar; b: 25 Jan (social) and 28 Jan;
-- c: 2 Feb; e: 5 Feb and 100 on 20 Mar; d: 5 Mar. January: 150 / 2 new = 75, the cohort's revenue
-- 35 + 40 + 60 = 135 < 150: not paid back. February: 90 / 2 = 45, revenue 60 in February, 160 by March:
-- paid back one period after. March: 30 / 1, revenue 200 in its own month: payback 0.
-- avg_value (with_clv => false) = revenue x margin / new customers.
CREATE TABLE cac_spend (day date, channel text, amount numeric);
INSERT INTO cac_spend VALUES ('2024-01-05', 'search', 100), ('2024-01-20', 'social', 50), ('2024-02-10', 'search', 90),
                             ('2024-03-01', 'social', 30), ('2024-03-02', 'social', NULL);
CREATE TABLE cac_orders (customer int, ordered_on date, amount numeric, channel text);
INSERT INTO cac_orders VALUES (1, '2024-01-03', 20, 'search'), (1, '2024-02-15', 40, 'search'), (1, '2024-03-10', 60, 'search'),
    (2, '2024-01-25', 10, 'social'), (2, '2024-01-28', 5, 'search'), (3, '2024-02-02', 50, 'search'),
    (4, '2024-03-05', 200, 'social'), (5, '2024-02-05', 10, 'search'), (5, '2024-03-20', 100, 'social'),
    (NULL, '2024-03-05', 1, 'social');
SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on', 'amount',
                                   with_clv => false);
-- Half the revenue is margin: January's cohort earns 67.5 of 150 by March, February's 80 of 90; March's
-- d still pays back at once.
SELECT period_start, cac, avg_value, payback_periods
FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on', 'amount',
                          margin => 0.5, with_clv => false);
-- Per channel: a new customer belongs to the channel of their first order (b: social, not search).
SELECT period_start, channel, marketing_spend, new_customers, cac
FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on',
                          spend_channel_col => 'channel', order_channel_col => 'channel');
-- Quarterly, without amounts: CAC only.
SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on', period => 'quarter');
-- Errors.
INSERT INTO cac_spend VALUES ('2024-03-03', 'social', -5);
SELECT sqlstate_of($$SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on')$$);
DELETE FROM cac_spend WHERE amount < 0;
SELECT sqlstate_of($$SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on', period => 'year')$$);
SELECT sqlstate_of($$SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on', spend_channel_col => 'channel')$$);
SELECT sqlstate_of($$SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on', margin => 0)$$);
SELECT sqlstate_of($$SELECT * FROM crm.acquisition_cost('cac_spend', 'day', NULL, 'cac_orders', 'customer', 'ordered_on')$$);
SELECT sqlstate_of($$SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'cost', 'cac_orders', 'customer', 'ordered_on')$$);
-- Four customers cannot identify the CLV models: with_clv (the default) says so.
SELECT sqlstate_of($$SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_orders', 'customer', 'ordered_on', 'amount')$$) LIKE '22023%' AS clv_needs_more_customers;
-- With the CLV models (the default), avg_value = (revenue x margin + the cohort's CLVs from crm.clv_analyze)
-- per new customer, on 400 generated customers whose BG/NBD fit converges.
CREATE TABLE cac_many AS
WITH draws AS (
    SELECT c, k, abs(hashint4(c * 3)) % 300 AS start_day,
           floor(-ln((1 + abs(hashint4(c * 13)) % 9973) / 9974.0) * 6)::int AS lifetime_orders,
           ceil(-ln((1 + abs(hashint4(c * 1000 + k)) % 9973) / 9974.0) * (3 + abs(hashint4(c * 7)) % 80))::int AS gap,
           round((10 + abs(hashint4(c * 11)) % 150 + abs(hashint4(c * 1000 + k + 7)) % 40)::numeric, 2) AS amount
    FROM generate_series(1, 400) c, generate_series(0, 60) k),
days AS (
    SELECT c, k, lifetime_orders, amount,
           start_day + sum(CASE WHEN k = 0 THEN 0 ELSE gap END) OVER (PARTITION BY c ORDER BY k) AS day
    FROM draws)
SELECT c AS customer, date '2023-01-01' + day::int AS ordered_on, amount FROM days WHERE k <= lifetime_orders AND day <= 730;
WITH ours AS (SELECT * FROM crm.acquisition_cost('cac_spend', 'day', 'amount', 'cac_many', 'customer', 'ordered_on',
                                                 'amount', 'quarter', margin => 0.4)),
     firsts AS (SELECT customer, date_trunc('quarter', min(ordered_on))::date AS q FROM cac_many GROUP BY 1),
     plain AS (SELECT f.q, count(*) AS n,
                      (0.4 * (SELECT sum(amount) FROM cac_many o JOIN firsts g USING (customer) WHERE g.q = f.q)::float8
                       + sum(v.clv)) / count(*) AS value
               FROM firsts f JOIN crm.clv_analyze('cac_many', 'customer', 'ordered_on', 'amount', margin => 0.4) v
                 ON v.customer_key = f.customer
               GROUP BY f.q)
SELECT count(*) AS quarters, count(*) FILTER (WHERE o.new_customers = p.n AND abs(o.avg_value - p.value) < 1e-9 * p.value) AS matching
FROM ours o JOIN plain p ON p.q = o.period_start;
DROP TABLE cac_spend, cac_orders, cac_many;
