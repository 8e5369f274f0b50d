-- Customer lifetime value: summaries, fits, scoring against published values, bad input.
\set VERBOSITY terse
-- A customer's summary by hand: orders on day 0 (two, same day), day 7 and day 21, as of day 28.
-- Weeks: x = 2 repeat days, t_x = 21 / 7 = 3, T = 28 / 7 = 4, monetary = mean(30, 50) = 40.
CREATE TABLE clv_orders (customer int, ordered date, amount numeric);
INSERT INTO clv_orders VALUES (1, '2025-01-01', 10), (1, '2025-01-01', 15), (1, '2025-01-08', 30), (1, '2025-01-22', 50),
  (2, '2025-01-15', 20), (3, '2025-02-01', 99);  -- customer 3 only after as_of
SELECT customer, crm.customer_summary(ordered, amount::float8, date '2025-01-29') AS weeks,
       crm.customer_summary(ordered, amount::float8, date '2025-01-29', 'day') AS days
FROM clv_orders GROUP BY customer ORDER BY customer;

-- Scoring at the published CDNOW fit (Fader, Hardie and Lee 2005; an independent refit's digits):
-- E[X(t)] at 1, 3, 32, 78 weeks: 0.0532, 0.1506, 1.0437, 1.8576 (Hardie's spreadsheet);
-- E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226 (the paper).
CREATE TABLE clv_models AS
SELECT ROW(1, 0.2425929, 4.4135316, 0.7928862, 2.4257537, -9582.4256, 2357, 0, true, NULL, NULL, NULL, NULL, NULL)::crm.bgnbd_model AS bg,
       ROW(1, 6.25, 3.74, 15.44, NULL, 946, 0, true, NULL, NULL, NULL, NULL)::crm.gammagamma_model AS gg;
SELECT t, round(crm.expected_purchases_new_customer(bg, t)::numeric, 4) AS expected,
       abs(crm.expected_purchases_new_customer(bg, t) - published) < 5e-4 AS within_5e_4
FROM clv_models, unnest(ARRAY[1, 3, 32, 78], ARRAY[0.0532, 0.1506, 1.0437, 1.8576]) v(t, published) ORDER BY t;
SELECT round(crm.expected_purchases(bg, 2, 30.43, 38.86, 39)::numeric, 3) AS e_y39 FROM clv_models;
-- Closed forms: a customer without repeat purchases is alive for sure under BG/NBD; nothing is
-- expected in no time; the mean spend of a customer with x = 0 is the population mean
-- p gamma / (q - 1) = 6.25 * 15.44 / 2.74 = 35.2190; with x and m: p (gamma + x m) / (p x + q - 1).
SELECT crm.p_alive(bg, 0, 0, 20) AS alive_without_repeats,
       crm.expected_purchases(bg, 3, 10, 20, 0) AS in_no_time,
       crm.prob_purchase(bg, 3, 10, 20, 0) AS p_in_no_time,
       round(crm.expected_spend(gg, 0, 0)::numeric, 4) AS population_mean,
       round(crm.expected_spend(gg, 4, 20)::numeric, 6) = round((6.25 * (15.44 + 4 * 20) / (6.25 * 4 + 3.74 - 1))::numeric, 6) AS spend_formula
FROM clv_models;
-- CLV as the sum of discounted monthly increments (lifetimes' customer_lifetime_value), computed
-- independently in SQL from the expected purchases at each month end.
SELECT round(crm.clv(bg, gg, 4, 20, 30, 25, months => 6, discount_rate => 0.02, margin => 0.3)::numeric, 9)
     = round((SELECT sum(0.3 * crm.expected_spend(gg, 4, 25)
                         * (crm.expected_purchases(bg, 4, 20, 30, i * 4.345) - crm.expected_purchases(bg, 4, 20, 30, (i - 1) * 4.345))
                         / 1.02 ^ i) FROM generate_series(1, 6) i)::numeric, 9) AS clv_is_the_sum,
       crm.clv(bg, gg, 4, 20, 30, 25, months => 0) AS no_horizon_no_value
FROM clv_models;
SELECT crm.churn_risk(0.2, 5) AS dead, crm.churn_risk(0.9, 0.1) AS dormant, crm.churn_risk(0.5, 3) AS uncertain,
       crm.churn_risk(0.9, 3) AS healthy, crm.churn_risk(0.9, 3, medium_purchases_below => 4) AS custom;
-- Models expose their parameters by name.
SELECT to_jsonb(bg) ? 'alpha' AND to_jsonb(gg) ? 'gamma' AS named FROM clv_models;

-- Fits: the aggregates recover simulated parameters' neighbourhood on a small sample, keep
-- identical rows as counts, and say when they do not converge.
-- Customers simulated from the BG/NBD story with hash-drawn randomness: a purchase rate and a
-- dropout chance per customer, exponential gaps, a coin after every purchase; spend varies around
-- a mean of each customer's own (so the Gamma-Gamma model is identified).
CREATE TABLE clv_sim_orders AS
WITH draws AS (
  SELECT c, g, 0.05 + ((hashint4(c) & 65535) / 65536.0) * 0.6 AS lambda,
         0.02 + ((hashint4(c + 7777) & 65535) / 65536.0) * 0.4 AS p_drop,
         CASE WHEN g = 0 THEN 0 ELSE -ln(1 - ((hashint4(c * 100 + g) & 65535) + 0.5) / 65536.0) END AS e,
         ((hashint4(c * 100 + g + 50000) & 65535) + 0.5) / 65536.0 AS u
  FROM generate_series(1, 2000) c, generate_series(0, 40) g),
purchases AS (
  SELECT c, date '2024-01-01' + (c % 90) + (7 * sum(e / lambda) OVER w)::int AS d, (10 + (hashint4(c + 3) & 127)) * (0.7 + (hashint4(c * 31 + g) & 63) / 100.0) AS a,
         count(*) FILTER (WHERE u < p_drop) OVER (PARTITION BY c ORDER BY g ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS drops
  FROM draws WINDOW w AS (PARTITION BY c ORDER BY g))
SELECT c, d, a FROM purchases WHERE drops = 0;
CREATE TABLE clv_sim AS
SELECT c, (crm.customer_summary(d, a::float8, date '2024-12-31')).* FROM clv_sim_orders GROUP BY c;
SELECT (m).converged, (m).customers, (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive
FROM (SELECT crm.bgnbd_fit(frequency, recency, age) AS m FROM clv_sim) f;
SELECT (m).converged, (m).customers FROM (SELECT crm.gammagamma_fit(frequency, monetary) AS m FROM clv_sim) f;
SELECT (m).converged, (m).customers, (m).s > 0 AND (m).beta > 0 AS positive
FROM (SELECT crm.paretonbd_fit(frequency, recency, age) AS m FROM clv_sim) f;
-- The two purchase models agree on which repeat buyers are active (BG/NBD, unlike Pareto/NBD,
-- holds every customer without a repeat purchase alive: its dropout follows a purchase).
SELECT corr(crm.p_alive(b.m, frequency, recency, age), crm.p_alive(p.m, frequency, recency, age))
         FILTER (WHERE frequency > 0) > 0.9 AS models_agree
FROM clv_sim, (SELECT crm.bgnbd_fit(frequency, recency, age) AS m FROM clv_sim) b,
     (SELECT crm.paretonbd_fit(frequency, recency, age) AS m FROM clv_sim) p;
-- The partial / combine pair gives the fit of the whole.
SELECT (SELECT crm.bgnbd_fit_combine(p) FROM (SELECT crm.bgnbd_fit_partial(frequency, recency, age) p FROM clv_sim GROUP BY c % 3) s)::text
     = (SELECT crm.bgnbd_fit(frequency, recency, age) FROM clv_sim)::text AS combine_equals_whole;
-- No rows: NULL. All customers without repeats: a clear error (22000), never NaN reported as converged.
SELECT crm.bgnbd_fit(frequency, recency, age) IS NULL AS empty FROM clv_sim WHERE false;
SELECT sqlstate_of($$SELECT crm.bgnbd_fit(0, 0, age) FROM clv_sim$$);
-- A model that did not converge is refused for scoring unless asked for.
CREATE TABLE clv_bad AS SELECT ROW(1, 1.0, 2.0, 3.0, 4.0, NULL, 1, 5, false, NULL, NULL, NULL, NULL, 'a parameter ran off')::crm.bgnbd_model AS m;
SELECT sqlstate_of($$SELECT crm.p_alive(m, 1, 1, 2) FROM clv_bad$$);
SELECT crm.p_alive(m, 1, 1, 2, allow_unconverged => true) BETWEEN 0 AND 1 AS allowed FROM clv_bad;

-- Model checking: fit on 2024, predict 2025's first half per customer, compare with what happened.
SELECT count(*) AS customers, abs(sum(predicted) - sum(actual)) / sum(actual) < 0.25 AS total_close,
       corr(predicted, actual) > 0.5 AS correlated
FROM crm.clv_holdout('clv_sim_orders', 'c', 'd', 'a', '2024-12-31', '2025-06-30');

-- One call: orders in, one row per customer out.
SELECT count(*) AS customers, count(*) FILTER (WHERE clv >= 0) AS with_value,
       count(DISTINCT churn_risk) <= 3 AS tiers
FROM crm.clv_analyze_typed('clv_orders', 'customer', 'ordered', 'amount', NULL::integer, as_of => '2025-01-29', allow_unconverged => true);
-- A key type that does not fit the column: 42804 with a hint.
SELECT sqlstate_of($$SELECT * FROM crm.clv_analyze_typed('clv_orders', 'customer', 'ordered', 'amount', NULL::text)$$);

-- Bad input.
SELECT sqlstate_of($$SELECT crm.bgnbd_fit(-1, 0, 5)$$);
SELECT sqlstate_of($$SELECT crm.bgnbd_fit(2, 6, 5)$$);
SELECT sqlstate_of($$SELECT crm.bgnbd_fit(1.5, 1, 5)$$);
SELECT sqlstate_of($$SELECT crm.bgnbd_fit('NaN', 1, 5)$$);
SELECT sqlstate_of($$SELECT crm.gammagamma_fit(2, 0)$$);
SELECT sqlstate_of($$SELECT crm.p_alive(bg, 2, 6, 5) FROM clv_models$$);
SELECT sqlstate_of($$SELECT crm.expected_purchases(bg, 2, 3, 5, -1) FROM clv_models$$);
SELECT sqlstate_of($$SELECT crm.clv(bg, gg, 2, 3, 5, 10, discount_rate => -1) FROM clv_models$$);
SELECT sqlstate_of($$SELECT crm.clv(bg, gg, 2, 3, 5, 10, time_unit => 'fortnight') FROM clv_models$$);
SELECT sqlstate_of($$SELECT crm.customer_summary(ordered, -5, date '2025-01-29') FROM clv_orders$$);
SELECT sqlstate_of($$SELECT crm.customer_summary(ordered, amount::float8, NULL) FROM clv_orders$$);
SELECT sqlstate_of($$SELECT crm.customer_summary(ordered, amount::float8, date '2025-01-29', 'month') FROM clv_orders$$);
SELECT sqlstate_of($$SELECT * FROM crm.clv_analyze('clv_orders', 'customer', 'ordered', 'amount', time_unit => 'year')$$);
SELECT sqlstate_of($$SELECT * FROM crm.clv_analyze('clv_orders', 'nope', 'ordered', 'amount')$$);
SELECT p_alive IS NULL AS strict FROM (SELECT crm.p_alive(bg, NULL, 1, 2) AS p_alive FROM clv_models) s;

-- A model in a PL/pgSQL variable, changed in place between calls of the same expression: each call
-- scores with the model as it is then (the per-call-site cache must not keep the old one).
DO $$
DECLARE
    m crm.bgnbd_model;
    p double precision;
    first_p double precision;
    second_p double precision;
BEGIN
    m := (SELECT bg FROM clv_models);
    FOR i IN 1 .. 2 LOOP
        p := crm.p_alive(m, 2, 3, 10);  -- one call site for both calls
        IF i = 1 THEN first_p := p; ELSE second_p := p; END IF;
        m.a := m.a * 4;
    END LOOP;
    RAISE NOTICE 'changed model scores differently: %', first_p <> second_p;
END
$$;
