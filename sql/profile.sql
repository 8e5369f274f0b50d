-- crm.customer_profile: one tagged row per customer with a next best action (docs/profile.md).
-- 400 customers with generated orders over two years; every column is checked against the function
-- it comes from or against plain SQL of the documented rule.
CREATE TABLE profile_orders AS
WITH draws AS (  -- per customer: a start day, a mean gap between orders, a geometric number of orders
    SELECT c, k, abs(hashint4(c * 3)) % 300 AS start_day,
           floor(-ln((1 + abs(hashint4(c * 13)) % 9973) / 9974.0) * 6)::int AS lifetime_orders,
           ceil(-ln((1 + abs(hashint4(c * 1000 + k)) % 9973) / 9974.0) * (3 + abs(hashint4(c * 7)) % 80))::int AS gap,
           round((10 + abs(hashint4(c * 11)) % 150 + abs(hashint4(c * 1000 + k + 7)) % 40)::numeric, 2) AS amount
    FROM generate_series(1, 400) c, generate_series(0, 60) k),
days AS (
    SELECT c, k, lifetime_orders, amount,
           start_day + sum(CASE WHEN k = 0 THEN 0 ELSE gap END) OVER (PARTITION BY c ORDER BY k) AS day
    FROM draws)
SELECT c AS customer_id, date '2023-01-01' + day::int AS ordered_on, amount
FROM days WHERE k <= lifetime_orders AND day <= 730;
CREATE TABLE profile AS
SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31');
SELECT count(*) AS customers, count(DISTINCT customer_key) AS distinct_keys FROM profile;
-- RFM and CLV columns are those of crm.rfm_analyze and crm.clv_analyze at the same as_of.
SELECT count(*) AS rfm_mismatches
FROM profile p JOIN crm.rfm_analyze('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31') r
  ON r.customer_key = p.customer_key
WHERE (p.recency_days, p.frequency, p.monetary, p.r_score, p.f_score, p.m_score, p.rfm_cell, p.segment)
      IS DISTINCT FROM (r.recency_days, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score, r.rfm_cell, r.segment);
SELECT count(*) AS clv_mismatches
FROM profile p JOIN crm.clv_analyze('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31') c
  ON c.customer_key = p.customer_key
WHERE (p.p_alive, p.expected_purchases, p.clv, p.churn_risk, p.tenure_days)
      IS DISTINCT FROM (c.p_alive, c.expected_purchases, c.clv, c.churn_risk, round(c.age * 7)::integer);
-- Average order value and tenure from plain SQL.
SELECT count(*) AS plain_sql_mismatches
FROM profile p JOIN (SELECT customer_id, avg(amount)::float8 AS aov, date '2024-12-31' - min(ordered_on) AS tenure
                     FROM profile_orders GROUP BY 1) o ON o.customer_id = p.customer_key
WHERE abs(p.avg_order_value - o.aov) > 1e-9 OR p.tenure_days <> o.tenure;
-- Value tiers: the top 20% of customers by CLV are high, the next 30% medium (ties share a tier).
SELECT value_tier, count(*), min(clv) > (SELECT max(clv) FROM profile q WHERE q.value_tier IN ('medium', 'low')
                                                                        AND p.value_tier = 'high') IS NOT FALSE AS above_lower_tiers
FROM profile p GROUP BY 1 ORDER BY 1;
-- Default tags equal the documented conditions written in plain SQL, and the first matching action wins.
SELECT count(*) AS tag_mismatches FROM profile p
WHERE p.tags IS DISTINCT FROM array_remove(ARRAY[
    CASE WHEN value_tier = 'high' AND churn_risk <> 'high' THEN 'vip' END,
    CASE WHEN value_tier IN ('high', 'medium') AND churn_risk IN ('high', 'medium') THEN 'at_risk' END,
    CASE WHEN tenure_days <= 90 AND frequency <= 2 THEN 'new' END,
    CASE WHEN f_score >= 4 AND r_score >= 4 THEN 'loyal' END,
    CASE WHEN m_score = 5 THEN 'big_spender' END,
    CASE WHEN f_score >= 3 AND m_score <= 2 THEN 'bargain_hunter' END,
    CASE WHEN value_tier = 'low' AND (churn_risk = 'high' OR r_score = 1) THEN 'lapsed' END]::text[], NULL);
SELECT count(*) AS action_mismatches FROM profile p
WHERE p.next_best_action IS DISTINCT FROM CASE
    WHEN 'vip' = ANY (tags) THEN 'vip_service' WHEN 'at_risk' = ANY (tags) THEN 'win_back_offer'
    WHEN 'new' = ANY (tags) THEN 'welcome_series' WHEN 'loyal' = ANY (tags) THEN 'membership_invite'
    WHEN 'bargain_hunter' = ANY (tags) THEN 'promotion' WHEN 'lapsed' = ANY (tags) THEN 'low_cost_reactivation'
    ELSE 'standard_communication' END;
SELECT next_best_action, count(*) > 0 AS used FROM profile GROUP BY 1 ORDER BY 1;

-- Editing the rules changes the profile without touching code.
INSERT INTO crm.profile_tag_rules (tag, condition, priority, description)
VALUES ('whale', 'monetary >= 5000 OR (clv > 2000 AND segment IN (''Champions'', ''Loyal Customers''))', 5, 'test');
UPDATE crm.profile_tag_rules SET enabled = false WHERE tag = 'bargain_hunter';
INSERT INTO crm.profile_actions (priority, segment, tag, action) VALUES (5, NULL, 'whale', 'call_personally'),
                                                                       (6, 'Hibernating', NULL, 'last_chance_offer');
SELECT count(*) FILTER (WHERE 'whale' = ANY (tags)) = count(*) FILTER (WHERE monetary >= 5000 OR (clv > 2000 AND segment IN ('Champions', 'Loyal Customers'))) AS whale_rule,
       count(*) FILTER (WHERE tags[1] = 'whale') = count(*) FILTER (WHERE 'whale' = ANY (tags)) AS whale_first,
       count(*) FILTER (WHERE 'bargain_hunter' = ANY (tags)) AS bargain_hunters,
       count(*) FILTER (WHERE next_best_action = 'call_personally') = count(*) FILTER (WHERE 'whale' = ANY (tags)) AS whales_called,
       count(*) FILTER (WHERE next_best_action = 'last_chance_offer')
         = count(*) FILTER (WHERE segment = 'Hibernating' AND NOT 'whale' = ANY (tags)) AS hibernating_offer
FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31');
-- The value tier is cume_dist() over the customers by CLV, descending (the profile counts it from a window
-- over the CLV rows alone): the same tiers as that window written out.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE value_tier IS DISTINCT FROM
                        CASE WHEN clv IS NULL THEN NULL WHEN cd <= 0.2 THEN 'high' WHEN cd <= 0.5 THEN 'medium'
                             ELSE 'low' END) AS tier_mismatches,
       count(DISTINCT value_tier) AS tiers
FROM (SELECT p.*, cume_dist() OVER (ORDER BY clv DESC NULLS LAST) AS cd
      FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31') p) s;
-- Inserting an existing tag or priority replaces the row (this is how a restore brings back edits).
INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('whale', 'monetary >= 1e9');
SELECT tag, condition, priority, enabled FROM crm.profile_tag_rules WHERE tag = 'whale';
SELECT count(*) FILTER (WHERE 'whale' = ANY (tags)) AS whales
FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31');

-- Hostile or wrong rules are refused when they are written (the CHECK compiles them) ...
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('x', 'clv > 0; DROP TABLE profile')$$);
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('x', 'clv > (SELECT 1)')$$);
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('x', 'pg_sleep(5) IS NULL')$$);
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('x', 'segment = ''a'' OR 1 = 1')$$);
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('x', 'no_such_column > 1')$$);
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('x', 'segment > 1')$$);
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('x', 'frequency == 1')$$);
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('Bad Tag', 'clv > 1')$$);
-- ... a quote inside a value stays a value ...
INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('quoted', 'segment = ''x''''); DROP TABLE profile; --''');
SELECT count(*) FILTER (WHERE 'quoted' = ANY (tags)) AS quoted_matches
FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31');
SELECT count(*) AS profile_table_still_there FROM profile;
-- ... and a rule that got past a dropped CHECK is recompiled, and refused, when the profile runs.
ALTER TABLE crm.profile_tag_rules DROP CONSTRAINT profile_tag_rules_condition_check;
INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('planted', 'true) OR (SELECT pg_sleep(5)) IS NULL OR (true');
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount')$$);
DELETE FROM crm.profile_tag_rules WHERE tag IN ('planted', 'quoted', 'whale');
ALTER TABLE crm.profile_tag_rules ADD CONSTRAINT profile_tag_rules_condition_check
    CHECK (crm._profile_rule_sql(condition) IS NOT NULL);
UPDATE crm.profile_tag_rules SET enabled = true WHERE tag = 'bargain_hunter';
DELETE FROM crm.profile_actions WHERE priority IN (5, 6);

-- Only the owner (and roles granted it) can write the rules; everybody can read them and build profiles.
CREATE ROLE crm_regress_analyst;
GRANT USAGE ON SCHEMA crm TO crm_regress_analyst;  -- what a DBA grants to let a role call crm functions
GRANT SELECT ON profile_orders TO crm_regress_analyst;
SET ROLE crm_regress_analyst;
SELECT sqlstate_of($$INSERT INTO crm.profile_tag_rules (tag, condition) VALUES ('mine', 'clv > 1')$$);
SELECT sqlstate_of($$UPDATE crm.profile_tag_rules SET condition = 'clv > 1' WHERE tag = 'vip'$$);
SELECT sqlstate_of($$DELETE FROM crm.profile_actions$$);
SELECT sqlstate_of($$TRUNCATE crm.profile_actions$$);
SELECT sqlstate_of($$ALTER TABLE crm.profile_tag_rules DROP CONSTRAINT profile_tag_rules_condition_check$$);
SELECT count(*) AS analyst_rows, count(*) FILTER (WHERE cardinality(tags) > 0) > 0 AS tagged
FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31');
RESET ROLE;
REVOKE ALL ON profile_orders FROM crm_regress_analyst;
REVOKE USAGE ON SCHEMA crm FROM crm_regress_analyst;
DROP ROLE crm_regress_analyst;

-- Clusters: names from crm.kmeans_cluster_names, or the caller's.
CREATE TABLE profile_model AS
SELECT crm.kmeans_fit(ARRAY[recency_days, frequency, monetary],
                      crm.kmeans_options(3, seed => 1, feature_names => ARRAY['recency_days', 'frequency', 'monetary'])) AS m
FROM profile;
SELECT count(*) AS cluster_mismatches
FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31',
                          kmeans_model => (SELECT m FROM profile_model)) p
LEFT JOIN crm.kmeans_cluster_names((SELECT m FROM profile_model)) n ON n.cluster = p.cluster
WHERE p.cluster IS DISTINCT FROM crm.kmeans_assign((SELECT m FROM profile_model), ARRAY[p.recency_days, p.frequency, p.monetary])
   OR p.cluster_name IS DISTINCT FROM n.name;
SELECT cluster_name, count(*) > 0 AS present
FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31',
                          kmeans_model => (SELECT m FROM profile_model), cluster_names => ARRAY['gold', 'silver', 'bronze'])
GROUP BY 1 ORDER BY 1;

-- A churn model (a tree over profile columns, true = stays): stay_probability is its prediction and the
-- churn-risk tier uses it in place of P(alive). Trained on the first half of 2024: did the customer order
-- again after 30 June?
CREATE TABLE profile_churn_tree AS
SELECT crm.tree_fit(ARRAY[p.recency_days, p.frequency, p.monetary]::float8[],
                    EXISTS (SELECT 1 FROM profile_orders o WHERE o.customer_id = p.customer_key AND o.ordered_on > '2024-06-30'),
                    crm.tree_options(max_depth => 3, min_samples_leaf => 10,
                                     feature_names => ARRAY['recency_days', 'frequency', 'monetary'])) AS m
FROM crm.rfm_analyze('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-06-30 23:59') p;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE p.stay_probability = crm.tree_predict(t.m, ARRAY[p.recency_days, p.frequency, p.monetary]::float8[]))
         AS tree_probability,
       count(*) FILTER (WHERE p.churn_risk = crm.churn_risk(p.stay_probability, p.expected_purchases)) AS tier_from_tree,
       count(*) FILTER (WHERE p.churn_risk IS DISTINCT FROM q.churn_risk) > 0 AS tiers_changed
FROM profile_churn_tree t,
     crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => '2024-12-31',
                          churn_model => (SELECT m FROM profile_churn_tree)) p
JOIN profile q ON q.customer_key = p.customer_key;
SELECT count(*) FILTER (WHERE stay_probability IS NULL) AS without_model FROM profile;
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount',
    churn_model => (SELECT crm.regression_tree_fit(ARRAY[x], x, crm.tree_options(feature_names => ARRAY['clv'])) FROM generate_series(1, 10) x))$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount',
    churn_model => (SELECT crm.tree_fit(ARRAY[x], x > 5, crm.tree_options(feature_names => ARRAY['age'])) FROM generate_series(1, 10) x))$$);
DROP TABLE profile_churn_tree;

-- Any key type, via the _typed form.
CREATE TABLE profile_orders_text AS SELECT 'c' || customer_id AS customer, ordered_on, amount FROM profile_orders;
SELECT count(*) AS text_keys, count(*) FILTER (WHERE customer_key LIKE 'c%') AS prefixed
FROM crm.customer_profile_typed('profile_orders_text', 'customer', 'ordered_on', 'amount', NULL::text, as_of => '2024-12-31');

-- Errors and edge cases.
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', value_tiers => '{0.5,0.2}')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', value_tiers => '{0.2}')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', value_tiers => '{{0.2},{0.5}}')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount', as_of => 'infinity')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'no_such', 'amount')$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount',
    kmeans_model => (SELECT crm.kmeans_fit(ARRAY[x], crm.kmeans_options(2, feature_names => ARRAY['age'])) FROM generate_series(1, 10) x))$$);
SELECT sqlstate_of($$SELECT * FROM crm.customer_profile('profile_orders', 'customer_id', 'ordered_on', 'amount',
    kmeans_model => (SELECT crm.kmeans_fit(ARRAY[x], 2) FROM generate_series(1, 10) x))$$);
CREATE TABLE profile_empty (customer_id int, ordered_on date, amount numeric);
SELECT count(*) AS empty_rows FROM crm.customer_profile('profile_empty', 'customer_id', 'ordered_on', 'amount');
DROP TABLE profile_orders, profile_orders_text, profile, profile_model, profile_empty;
