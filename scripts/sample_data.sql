-- Sample retail data for the showcase, the tests and the benchmarks.
--
--   psql -v scale=1 -v seed=42 -f scripts/sample_data.sql
--
-- scale 1 = 2,000 customers and about 20,000 orders (scale 250: 500k / 5M).
-- Deterministic for a given seed whatever the plan: every random draw is a
-- hash of (seed, row id, stream), not a call to random().
--
-- Tables (schema crm_sample):
--   customers(customer_id, name, region, signup_date)
--   orders(order_id, customer_id, ordered_at, category, product, amount)
--   product_attributes(product_id, product, attributes): one row per product of
--     orders, attributes as 'key=value' tags (for content-based recommendations)
--   order_lines(order_id, product): the articles of one order in six (market baskets)
-- Customers differ in how often they buy (gamma-like spread), when they
-- started and whether they stopped buying (churned), so every RFM segment
-- is populated. 85% of orders are food (small baskets), 15% appliances
-- (rare, expensive).

\set ON_ERROR_STOP 1
\if :{?scale}
\else
  \set scale 1
\endif
\if :{?seed}
\else
  \set seed 42
\endif

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS crm_sample CASCADE;
CREATE SCHEMA crm_sample;

-- Uniform (0, 1) from (seed, id, stream): stable across plans and machines.
CREATE FUNCTION crm_sample.u(seed bigint, id bigint, stream integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ((pg_catalog.hashint8extended(id, seed * 1000 + stream) & 2147483647)::double precision + 0.5)
         / 2147483648.0
$$;

-- Standard normal by Box-Muller from two uniforms.
CREATE FUNCTION crm_sample.normal(seed bigint, id bigint, stream integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT pg_catalog.sqrt(-2 * pg_catalog.ln(crm_sample.u(seed, id, stream)))
         * pg_catalog.cos(2 * pi() * crm_sample.u(seed, id, stream + 1))
$$;

CREATE TABLE crm_sample.customers (
    customer_id bigint PRIMARY KEY,
    name text NOT NULL,
    region text NOT NULL,
    signup_date date NOT NULL,
    -- generator's latent truth, kept for teaching: mean orders per year and churn date
    orders_per_year double precision NOT NULL,
    churned_on date
);

INSERT INTO crm_sample.customers
SELECT c,
       'Customer ' || lpad(c::text, 7, '0'),
       (ARRAY['North', 'South', 'East', 'West', 'Central'])[1 + floor(5 * crm_sample.u(:seed, c, 1))::int],
       -- 6% are new: they signed up in the last two months
       CASE WHEN crm_sample.u(:seed, c, 8) < 0.06
            THEN date '2024-11-01' + floor(60 * crm_sample.u(:seed, c, 2))::int
            ELSE date '2023-01-01' + floor(600 * crm_sample.u(:seed, c, 2))::int END,
       -- heavy-tailed purchase rate: most customers buy a few times a year, some weekly
       greatest(0.5, 11 * pg_catalog.exp(1.1 * crm_sample.normal(:seed, c, 3) - 0.6)),
       CASE WHEN crm_sample.u(:seed, c, 5) < 0.45
            THEN date '2023-03-01' + floor(640 * crm_sample.u(:seed, c, 6))::int END
FROM generate_series(1, 2000 * :scale) AS c;

-- Each customer's active window: signup to churn (or the end of 2024).
CREATE TEMP VIEW active_windows AS
SELECT customer_id, signup_date AS first_day,
       greatest(signup_date + 1, least(coalesce(churned_on, date '2024-12-31'), date '2024-12-31')) AS last_day,
       orders_per_year
FROM crm_sample.customers;

CREATE TABLE crm_sample.orders (
    order_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    ordered_at timestamptz NOT NULL,
    category text NOT NULL,
    product text NOT NULL,
    amount numeric(10, 2) NOT NULL
);

INSERT INTO crm_sample.orders
SELECT row_number() OVER (ORDER BY w.customer_id, j),
       w.customer_id,
       (w.first_day + floor((w.last_day - w.first_day) * crm_sample.u(:seed, w.customer_id * 1000 + j, 10))::int)
           + make_interval(mins => floor(60 * (8 + 13 * crm_sample.u(:seed, w.customer_id * 1000 + j, 11)))::int),
       CASE WHEN appliance THEN 'appliance' ELSE 'food' END,
       CASE WHEN appliance
            THEN (ARRAY['Fridge', 'Washing machine', 'Microwave', 'Kettle', 'Vacuum cleaner', 'Dishwasher'])
                 [1 + floor(6 * crm_sample.u(:seed, w.customer_id * 1000 + j, 13))::int]
            ELSE (ARRAY['Fresh produce', 'Dairy', 'Bakery', 'Meat', 'Frozen food', 'Beverages', 'Pantry'])
                 [1 + floor(7 * crm_sample.u(:seed, w.customer_id * 1000 + j, 13))::int] END,
       round((CASE WHEN appliance
                   THEN 60 * pg_catalog.exp(1.6 + 0.7 * crm_sample.normal(:seed, w.customer_id * 1000 + j, 14))
                   ELSE 8 * pg_catalog.exp(1.0 + 0.5 * crm_sample.normal(:seed, w.customer_id * 1000 + j, 14))
              END)::numeric, 2)
FROM active_windows w
CROSS JOIN LATERAL generate_series(
    1, 1 + floor(w.orders_per_year * (w.last_day - w.first_day) / 365.0
                 * (0.5 + crm_sample.u(:seed, w.customer_id, 7)))::int) AS j
CROSS JOIN LATERAL (SELECT crm_sample.u(:seed, w.customer_id * 1000 + j, 12) < 0.15 AS appliance) a;

ALTER TABLE crm_sample.orders ADD PRIMARY KEY (order_id);
CREATE INDEX ON crm_sample.orders (customer_id);
ANALYZE crm_sample.customers;
ANALYZE crm_sample.orders;

-- Item attributes for content-based recommendations: one row per product of
-- orders, product_id numbered in product name order (as the showcase numbers
-- them), attributes as 'key=value' tags. Category, storage, taste, diet,
-- room, size and function follow the product; the brand (invented names) and
-- the appliances' energy class are drawn from (seed, product_id).
CREATE TABLE crm_sample.product_attributes (
    product_id bigint PRIMARY KEY,
    product text NOT NULL UNIQUE,
    attributes text[] NOT NULL
);
INSERT INTO crm_sample.product_attributes
WITH products AS (
    SELECT row_number() OVER (ORDER BY product) AS product_id, product
    FROM (SELECT DISTINCT product FROM crm_sample.orders) d
), described(product, tags) AS (VALUES
    ('Fresh produce',   ARRAY['category=food', 'storage=cool', 'taste=fresh', 'perishable', 'diet=vegan']),
    ('Dairy',           ARRAY['category=food', 'storage=chilled', 'taste=mild', 'perishable', 'diet=vegetarian']),
    ('Bakery',          ARRAY['category=food', 'storage=ambient', 'taste=sweet', 'perishable', 'diet=vegetarian']),
    ('Meat',            ARRAY['category=food', 'storage=chilled', 'taste=savoury', 'perishable']),
    ('Frozen food',     ARRAY['category=food', 'storage=frozen', 'taste=savoury']),
    ('Beverages',       ARRAY['category=food', 'storage=ambient', 'taste=sweet', 'diet=vegan']),
    ('Pantry',          ARRAY['category=food', 'storage=ambient', 'taste=savoury', 'diet=vegan']),
    ('Fridge',          ARRAY['category=appliance', 'room=kitchen', 'size=large', 'function=cooling']),
    ('Washing machine', ARRAY['category=appliance', 'room=laundry', 'size=large', 'function=cleaning']),
    ('Microwave',       ARRAY['category=appliance', 'room=kitchen', 'size=small', 'function=heating']),
    ('Kettle',          ARRAY['category=appliance', 'room=kitchen', 'size=small', 'function=heating']),
    ('Vacuum cleaner',  ARRAY['category=appliance', 'room=living', 'size=small', 'function=cleaning']),
    ('Dishwasher',      ARRAY['category=appliance', 'room=kitchen', 'size=large', 'function=cleaning'])
)
SELECT p.product_id, p.product,
       coalesce(d.tags, ARRAY[]::text[])
       || CASE WHEN d.tags @> ARRAY['category=appliance']
               THEN ARRAY['brand=' || (ARRAY['Voltara', 'Kelvin & Co', 'Homewright'])
                                      [1 + floor(3 * crm_sample.u(:seed, p.product_id, 70))::int],
                          'energy_class=' || (ARRAY['A', 'B', 'C'])
                                             [1 + floor(3 * crm_sample.u(:seed, p.product_id, 71))::int]]
               ELSE ARRAY['brand=' || (ARRAY['Brookfield', 'Green Valley', 'Nordvik', 'Sunny Farm'])
                                      [1 + floor(4 * crm_sample.u(:seed, p.product_id, 70))::int]] END
FROM products p LEFT JOIN described d USING (product)
ORDER BY p.product_id;
ANALYZE crm_sample.product_attributes;

-- Market baskets: the article lines of one order in six (about 3,000 baskets at
-- scale 1), one row per article; an article bought twice has two rows. Planted
-- co-purchase patterns: each basket follows a theme of its order's category
-- whose articles come with known probabilities (spaghetti with tomato sauce
-- 0.85 and parmesan 0.7; a phone case or a screen protector only with a
-- smartphone; ...), and food baskets add everyday staples at random (12% each),
-- which co-occur with nothing in particular (lift near 1).
CREATE TABLE crm_sample.order_lines (
    order_id bigint NOT NULL REFERENCES crm_sample.orders,
    product text NOT NULL
);
INSERT INTO crm_sample.order_lines
WITH baskets AS (
    SELECT order_id, category, crm_sample.u(:seed, order_id, 61) AS theme_draw
    FROM crm_sample.orders
    WHERE crm_sample.u(:seed, order_id, 60) < 1.0 / 6
), themes(category, theme, lo, hi) AS (VALUES
    ('food', 'pasta', 0.00, 0.20), ('food', 'breakfast', 0.20, 0.35), ('food', 'barbecue', 0.35, 0.45),
    ('food', 'staples', 0.45, 1.00),
    ('appliance', 'phone', 0.00, 0.45), ('appliance', 'laptop', 0.45, 0.75), ('appliance', 'coffee', 0.75, 1.00)
), articles(theme, k, product, p) AS (VALUES
    ('pasta', 1, 'Spaghetti', 1.0), ('pasta', 2, 'Tomato sauce', 0.85), ('pasta', 3, 'Parmesan', 0.7),
    ('pasta', 4, 'Basil', 0.3),
    ('breakfast', 1, 'Bread', 1.0), ('breakfast', 2, 'Butter', 0.8), ('breakfast', 3, 'Jam', 0.5),
    ('breakfast', 4, 'Coffee beans', 0.35),
    ('barbecue', 1, 'Sausages', 1.0), ('barbecue', 2, 'Charcoal', 0.75), ('barbecue', 3, 'Beer', 0.6),
    ('barbecue', 4, 'Ketchup', 0.5),
    ('phone', 1, 'Smartphone', 1.0), ('phone', 2, 'Phone case', 0.85), ('phone', 3, 'Screen protector', 0.6),
    ('phone', 4, 'USB-C charger', 0.3),
    ('laptop', 1, 'Laptop', 1.0), ('laptop', 2, 'Wireless mouse', 0.7), ('laptop', 3, 'Laptop sleeve', 0.5),
    ('laptop', 4, 'USB-C charger', 0.2),
    ('coffee', 1, 'Coffee machine', 1.0), ('coffee', 2, 'Coffee beans', 0.8), ('coffee', 3, 'Descaler', 0.4)
), staples(k, product) AS (VALUES
    (1, 'Milk'), (2, 'Eggs'), (3, 'Bananas'), (4, 'Apples'), (5, 'Yoghurt'), (6, 'Cheese'), (7, 'Rice'),
    (8, 'Chicken'), (9, 'Tomatoes'), (10, 'Orange juice'), (11, 'Bread'), (12, 'Water')
), lines AS (
    -- the theme's articles
    SELECT b.order_id, a.product
    FROM baskets b
    JOIN themes t ON t.category = b.category AND b.theme_draw >= t.lo AND b.theme_draw < t.hi
    JOIN articles a ON a.theme = t.theme
    WHERE crm_sample.u(:seed, b.order_id * 100 + a.k, 62) < a.p
    UNION ALL
    -- a staples basket holds at least one staple
    SELECT b.order_id, s.product
    FROM baskets b JOIN staples s ON s.k = 1 + floor(12 * crm_sample.u(:seed, b.order_id, 64))::int
    WHERE b.category = 'food' AND b.theme_draw >= 0.45
    UNION ALL
    -- and any food basket adds staples at random
    SELECT b.order_id, s.product
    FROM baskets b CROSS JOIN staples s
    WHERE b.category = 'food' AND crm_sample.u(:seed, b.order_id * 100 + 20 + s.k, 63) < 0.12
)
SELECT order_id, product FROM lines ORDER BY order_id, product;
CREATE INDEX ON crm_sample.order_lines (order_id);
ANALYZE crm_sample.order_lines;

-- Campaigns with a randomised control group (20% held out) and a known true
-- effect: every treated customer's 30-day revenue is raised by true_uplift on
-- average, so the estimate from crm.campaign_uplift can be checked.
CREATE TABLE crm_sample.campaigns (
    campaign text PRIMARY KEY,
    audience text NOT NULL,
    cost_per_contact numeric NOT NULL,
    true_uplift numeric NOT NULL,           -- revenue per treated customer caused by the campaign
    true_conversion_lift numeric NOT NULL,  -- added probability of buying in the window
    cost numeric                            -- total, filled in below
);
INSERT INTO crm_sample.campaigns VALUES
    ('VIP double points', 'active customers buying 12+ times a year', 4.00, 25.00, 0.10, NULL),
    ('Win-back voucher', 'customers who stopped buying', 6.00, 5.00, 0.08, NULL),
    ('Newsletter blast', 'a random 40% of everyone', 0.30, 0.20, 0.01, NULL);

CREATE TABLE crm_sample.campaign_results (
    campaign text NOT NULL REFERENCES crm_sample.campaigns,
    customer_id bigint NOT NULL REFERENCES crm_sample.customers,
    treated boolean NOT NULL,
    revenue numeric(10, 2) NOT NULL,   -- in the 30 days after the send
    converted boolean NOT NULL,        -- bought at least once in those 30 days
    PRIMARY KEY (campaign, customer_id)
);

INSERT INTO crm_sample.campaign_results
SELECT e.campaign, e.customer_id, e.treated,
       round((e.baseline + CASE WHEN e.treated THEN k.true_uplift * (0.5 + crm_sample.u(:seed, e.draw, 33)) ELSE 0 END)::numeric, 2),
       crm_sample.u(:seed, e.draw, 34) < least(0.95, e.base_conversion + CASE WHEN e.treated THEN k.true_conversion_lift ELSE 0 END)
FROM (
    SELECT a.campaign, c.customer_id, c.customer_id * 10 + a.n AS draw,
           crm_sample.u(:seed, c.customer_id * 10 + a.n, 31) < 0.8 AS treated,
           -- baseline 30-day spend: lognormal around the customer's usual rate (churned: little)
           CASE WHEN c.churned_on IS NULL THEN c.orders_per_year / 12.0 * 30 ELSE 3 END
             * pg_catalog.exp(0.4 * crm_sample.normal(:seed, c.customer_id * 10 + a.n, 32) - 0.08) AS baseline,
           CASE WHEN c.churned_on IS NULL THEN 0.5 ELSE 0.1 END AS base_conversion
    FROM crm_sample.customers c
    JOIN (VALUES (1, 'VIP double points'), (2, 'Win-back voucher'), (3, 'Newsletter blast')) a(n, campaign)
      ON (a.n = 1 AND c.orders_per_year >= 12 AND c.churned_on IS NULL)
      OR (a.n = 2 AND c.churned_on IS NOT NULL)
      OR (a.n = 3 AND crm_sample.u(:seed, c.customer_id, 30) < 0.4)
) e
JOIN crm_sample.campaigns k ON k.campaign = e.campaign;

UPDATE crm_sample.campaigns k
SET cost = k.cost_per_contact * (SELECT count(*) FROM crm_sample.campaign_results r
                                 WHERE r.campaign = k.campaign AND r.treated);
ANALYZE crm_sample.campaign_results;

-- Cold-chain shipments: loggers read the temperature about every 5 minutes
-- (irregular, with sensor noise). Most trucks hold 2-5 degC; about one in
-- five has a failing fridge and warms towards the outside air (Newton's law,
-- known T0, ambient and tau), some of them through the 8 degC limit.
CREATE TABLE crm_sample.shipments (
    shipment_id bigint PRIMARY KEY,
    product text NOT NULL,
    departed_at timestamptz NOT NULL,
    upper_limit double precision NOT NULL,
    lower_limit double precision NOT NULL,
    -- generator's truth
    fridge_failed boolean NOT NULL,
    true_t0 double precision NOT NULL,
    true_ambient double precision NOT NULL,
    true_tau interval NOT NULL
);
INSERT INTO crm_sample.shipments
SELECT s,
       (ARRAY['chilled dairy', 'fresh meat', 'ready meals', 'salads'])[1 + floor(4 * crm_sample.u(:seed, s, 40))::int],
       timestamptz '2025-03-01 05:00+00' + floor(180 * crm_sample.u(:seed, s, 41)) * interval '1 minute',
       8, 0,
       failed,
       3 + 1.5 * crm_sample.u(:seed, s, 42),
       CASE WHEN failed THEN 14 + 10 * crm_sample.u(:seed, s, 43) ELSE 2.5 + crm_sample.u(:seed, s, 43) END,
       CASE WHEN failed THEN (90 + 300 * crm_sample.u(:seed, s, 44)) * interval '1 minute'
            ELSE (20 + 40 * crm_sample.u(:seed, s, 44)) * interval '1 minute' END
FROM generate_series(1, 100 * :scale) s,
     LATERAL (SELECT crm_sample.u(:seed, s, 45) < 0.2 AS failed) f;

CREATE TABLE crm_sample.sensor_readings (
    shipment_id bigint NOT NULL REFERENCES crm_sample.shipments,
    read_at timestamptz NOT NULL,
    temp_c double precision NOT NULL
);
INSERT INTO crm_sample.sensor_readings
SELECT sh.shipment_id, r.read_at,
       round((sh.true_t0 + (sh.true_ambient - sh.true_t0)
              * (1 - exp(-extract(epoch FROM r.read_at - sh.departed_at) / extract(epoch FROM sh.true_tau)))
              + 0.12 * crm_sample.normal(:seed, sh.shipment_id * 1000 + r.k, 46))::numeric, 2)::double precision
FROM crm_sample.shipments sh
CROSS JOIN LATERAL (
    SELECT k, sh.departed_at + (5 * k + 2 * crm_sample.u(:seed, sh.shipment_id * 1000 + k, 47) - 1)
                                * interval '1 minute' AS read_at
    FROM generate_series(0, 72) k) r
WHERE r.read_at >= sh.departed_at;
CREATE INDEX ON crm_sample.sensor_readings (shipment_id, read_at);
ANALYZE crm_sample.shipments;
ANALYZE crm_sample.sensor_readings;
