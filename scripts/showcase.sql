-- What the showcase prints, from the sample data in schema crm_sample.
\set QUIET on
\pset footer off
\pset null '-'
SET client_min_messages = warning;

\echo
\echo '== The sample data'
SELECT count(DISTINCT customer_id) AS customers, count(*) AS orders,
       min(ordered_at)::date AS first_order, max(ordered_at)::date AS last_order,
       to_char(sum(amount), 'FM999,999,999') AS revenue,
       round(100.0 * count(*) FILTER (WHERE category = 'food') / count(*), 1) AS food_orders_pct
FROM crm_sample.orders;

-- One call: RFM per customer as of the first of January 2025.
CREATE TEMP TABLE rfm AS
SELECT * FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount',
                              as_of => '2025-01-01');

\echo
\echo '== RFM segments (crm.rfm_analyze, quintile scores, default 10-segment grid)'
SELECT segment,
       count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct_customers,
       round((100 * sum(monetary) / sum(sum(monetary)) OVER ())::numeric, 1) AS pct_revenue,
       round(avg(recency_days)) AS avg_recency_days,
       round(avg(frequency), 1) AS avg_orders,
       round(avg(monetary)::numeric) AS avg_spend
FROM rfm GROUP BY segment ORDER BY sum(monetary) DESC;

\echo
\echo '== Three customers per segment (highest spend first), joined back to the customers table'
SELECT segment, name, region, recency_days, frequency, round(monetary::numeric, 2) AS monetary, rfm_cell
FROM (SELECT r.*, c.name, c.region,
             row_number() OVER (PARTITION BY r.segment ORDER BY r.monetary DESC, r.customer_key) AS rank
      FROM rfm r JOIN crm_sample.customers c ON c.customer_id = r.customer_key) t
WHERE rank <= 3
ORDER BY segment, rank;

\echo
\echo '== Composable form: thresholds learned once, stored, and used to score in an ordinary query'
CREATE TEMP TABLE rfm_model AS
SELECT crm.rfm_thresholds(recency_days, frequency, monetary) AS thresholds FROM rfm;
SELECT (thresholds).customers, (thresholds).recency_cuts, (thresholds).frequency_cuts,
       (thresholds).monetary_cuts::numeric(10, 2)[] AS monetary_cuts
FROM rfm_model;
SELECT s.segment, count(*) AS customers_scored
FROM rfm r CROSS JOIN rfm_model m
CROSS JOIN LATERAL crm.rfm_score(m.thresholds, r.recency_days, r.frequency, r.monetary) s
GROUP BY s.segment ORDER BY 2 DESC LIMIT 3;

\echo
\echo '== Weighted composite score (z-scored features; weights R 0.2, F 0.3, M 0.5): top 5'
SELECT c.name, r.segment, round(score::numeric, 3) AS score
FROM (SELECT customer_key, segment,
             crm.weighted_score(
               ARRAY[-(recency_days - avg(recency_days) OVER ()) / NULLIF(stddev_pop(recency_days) OVER (), 0),
                     (frequency - avg(frequency) OVER ()) / NULLIF(stddev_pop(frequency) OVER (), 0),
                     (monetary - avg(monetary) OVER ()) / NULLIF(stddev_pop(monetary) OVER (), 0)],
               ARRAY[0.2, 0.3, 0.5]) AS score
      FROM rfm) r
JOIN crm_sample.customers c ON c.customer_id = r.customer_key
ORDER BY score DESC LIMIT 5;

\echo
\echo '== Campaigns: uplift against a 20% control group, ROI and verdict (crm.campaign_report)'
SELECT r.campaign, r.treated_n, r.control_n,
       round(r.uplift::numeric, 2) AS uplift_per_customer,
       k.true_uplift AS true_uplift,
       to_char(r.incremental_revenue, 'FM999,999,990') AS incremental_revenue,
       to_char(r.cost, 'FM999,999,990') AS cost,
       round(r.roi_pct::numeric) AS roi_pct,
       '[' || round(r.roi_ci_low::numeric) || ', ' || round(r.roi_ci_high::numeric) || ']' AS roi_95_ci,
       r.verdict
FROM crm.campaign_report('crm_sample.campaign_results', 'campaign', 'treated', 'revenue',
                         'crm_sample.campaigns', 'campaign', 'cost') r
JOIN crm_sample.campaigns k ON k.campaign = r.campaign
ORDER BY r.roi_pct DESC;

\echo
\echo '== Does the 95% interval of the uplift contain the true effect the generator put in?'
SELECT u.campaign, round((u.e).ci_low::numeric, 2) AS ci_low, round((u.e).ci_high::numeric, 2) AS ci_high,
       k.true_uplift, k.true_uplift BETWEEN (u.e).ci_low AND (u.e).ci_high AS contains_true_effect,
       round((c.e).uplift::numeric, 3) AS conversion_uplift, k.true_conversion_lift
FROM (SELECT campaign, crm.campaign_uplift(treated, revenue::float8) AS e
      FROM crm_sample.campaign_results GROUP BY campaign) u
JOIN (SELECT campaign, crm.conversion_uplift(treated, converted) AS e
      FROM crm_sample.campaign_results GROUP BY campaign) c USING (campaign)
JOIN crm_sample.campaigns k USING (campaign)
ORDER BY campaign;

\echo
\echo '== Uplift of the VIP campaign per RFM segment (join of the two analyses)'
SELECT f.segment, (u).treated_n, (u).control_n, round((u).uplift::numeric, 2) AS uplift,
       round((u).ci_low::numeric, 2) AS ci_low, round((u).ci_high::numeric, 2) AS ci_high
FROM (SELECT f.segment, crm.campaign_uplift(r.treated, r.revenue::float8) AS u
      FROM crm_sample.campaign_results r JOIN rfm f ON f.customer_key = r.customer_id
      WHERE r.campaign = 'VIP double points' GROUP BY f.segment) f
WHERE (u).treated_n >= 20
ORDER BY (u).uplift DESC;

\echo
\echo '== Cold chain: alerts as of 2025-03-01 08:00 UTC (upper limit 8 degC, lower 0, horizon 2 hours)'
SELECT status, count(*) AS shipments
FROM crm.cold_chain_alerts('crm_sample.sensor_readings', 'shipment_id', 'read_at', 'temp_c',
                           upper_limit => 8, lower_limit => 0, horizon => '2 hours',
                           as_of => '2025-03-01 08:00+00')
GROUP BY status ORDER BY min(CASE status WHEN 'breached' THEN 0 WHEN 'will breach within horizon' THEN 1
                                         WHEN 'insufficient data' THEN 2 ELSE 3 END);
SELECT a.shipment, s.product, a.n_readings AS readings, to_char(a.last_reading_at, 'HH24:MI') AS last_at,
       round(a.last_temperature::numeric, 1) AS last_temp, a.status,
       to_char(a.predicted_breach_at, 'HH24:MI') AS breach_at,
       round((a.model).ambient::numeric, 1) AS fitted_ambient, round(s.true_ambient::numeric, 1) AS true_ambient,
       date_trunc('minute', (a.model).tau) AS fitted_tau, date_trunc('minute', s.true_tau) AS true_tau,
       date_trunc('second', a.time_above_upper) AS above_8_so_far
FROM crm.cold_chain_alerts('crm_sample.sensor_readings', 'shipment_id', 'read_at', 'temp_c',
                           upper_limit => 8, lower_limit => 0, horizon => '2 hours',
                           as_of => '2025-03-01 08:00+00') a
JOIN crm_sample.shipments s ON s.shipment_id::text = a.shipment
WHERE a.status <> 'ok'
ORDER BY a.status, a.predicted_breach_at NULLS LAST
LIMIT 12;

\echo
\echo '== Did the forecasts come true? Shipments predicted at 08:00 to breach by 10:00, checked against later readings'
WITH alerts AS (
    SELECT * FROM crm.cold_chain_alerts('crm_sample.sensor_readings', 'shipment_id', 'read_at', 'temp_c',
                                        upper_limit => 8, lower_limit => 0, horizon => '2 hours',
                                        as_of => '2025-03-01 08:00+00')),
actual AS (
    SELECT shipment_id::text AS shipment, min(read_at) FILTER (WHERE temp_c > 8) AS first_above
    FROM crm_sample.sensor_readings GROUP BY shipment_id)
SELECT a.status, count(*) AS shipments,
       count(*) FILTER (WHERE x.first_above <= timestamptz '2025-03-01 10:00+00') AS above_8_by_10_00,
       round(avg(extract(epoch FROM x.first_above - a.predicted_breach_at) / 60)
             FILTER (WHERE a.status = 'will breach within horizon')) AS mean_error_minutes
FROM alerts a JOIN actual x USING (shipment)
GROUP BY a.status ORDER BY a.status;

\echo
\echo '== Clusters: k-means (k = 5) on the RFM values, named by value from their profile (crm.kmeans_fit, crm.kmeans_cluster_names)'
CREATE TEMP TABLE cluster_model AS
SELECT crm.kmeans_fit(ARRAY[recency_days, frequency, monetary],
                      crm.kmeans_options(5, seed => 1, n_init => 10,
                                         feature_names => ARRAY['recency_days', 'frequency', 'monetary'])) AS model
FROM rfm;
SELECT c.cluster, n.name, c.size,
       round(c.centroid[1]) AS recency_days, round(c.centroid[2]::numeric, 1) AS orders,
       round(c.centroid[3]::numeric) AS spend, n.profile
FROM cluster_model, crm.kmeans_clusters(model) c JOIN crm.kmeans_cluster_names(model) n USING (cluster)
ORDER BY n.value_rank;
SELECT round(crm.kmeans_silhouette(model, 'pg_temp.rfm', ARRAY['recency_days', 'frequency', 'monetary'])::numeric, 3)
         AS silhouette,
       (crm.kmeans_info(model)).inertia::numeric(12, 1) AS inertia
FROM cluster_model;
\echo 'How the clusters line up with the RFM segments (customers per cluster name and segment):'
SELECT n.name AS cluster_name,
       count(*) FILTER (WHERE r.segment IN ('Champions', 'Loyal Customers')) AS champions_or_loyal,
       count(*) FILTER (WHERE r.segment IN ('At Risk', 'Can''t Lose Them', 'Hibernating', 'About To Sleep')) AS lapsing,
       count(*) FILTER (WHERE r.segment IN ('New Customers', 'Promising', 'Potential Loyalists', 'Need Attention')) AS newer
FROM rfm r CROSS JOIN cluster_model m
JOIN crm.kmeans_cluster_names(m.model) n
  ON n.cluster = crm.kmeans_assign(m.model, ARRAY[r.recency_days, r.frequency, r.monetary])
GROUP BY n.name, n.value_rank ORDER BY n.value_rank;

\echo
\echo '== Recommendations: products to offer next, from purchase counts (crm.cf_recommend, user-based k-NN)'
CREATE TEMP TABLE purchases AS
SELECT o.customer_id, p.product_id, count(*) AS times_bought
FROM crm_sample.orders o
JOIN (SELECT product, row_number() OVER (ORDER BY product) AS product_id
      FROM (SELECT DISTINCT product FROM crm_sample.orders) d) p USING (product)
GROUP BY 1, 2;
CREATE TEMP TABLE product_names AS
SELECT row_number() OVER (ORDER BY product) AS product_id, product FROM (SELECT DISTINCT product FROM crm_sample.orders) d;
SELECT c.customer_id, c.name,
       (SELECT string_agg(pn.product, ', ' ORDER BY p.times_bought DESC, pn.product)
        FROM purchases p JOIN product_names pn USING (product_id) WHERE p.customer_id = c.customer_id) AS bought,
       (SELECT string_agg(pn.product, ', ' ORDER BY r.rank)
        FROM crm.cf_recommend('pg_temp.purchases', 'customer_id', 'product_id', 'times_bought', c.customer_id, n => 3) r
        JOIN product_names pn ON pn.product_id = r.item_id) AS recommended
FROM crm_sample.customers c
WHERE c.customer_id IN (SELECT customer_key FROM rfm WHERE segment IN ('Potential Loyalists', 'Promising')
                        ORDER BY customer_key LIMIT 4);

\echo
\echo '== More recommenders: similar products, a new customer, a diversified list (item-kNN, content, popular)'
\echo 'Products like the Kettle: bought by the same customers (crm.similar_items) and described alike'
\echo '(crm.content_similar_items over the tags of crm_sample.product_attributes):'
SELECT 'bought by the same customers' AS similar_by,
       string_agg(pn.product || ' (' || round(s.score::numeric, 2) || ')', ', ' ORDER BY s.rank) AS products
FROM product_names k
CROSS JOIN LATERAL crm.similar_items('pg_temp.purchases', 'customer_id', 'product_id', 'times_bought',
                                     k.product_id, n => 3) s
JOIN product_names pn ON pn.product_id = s.item_id
WHERE k.product = 'Kettle'
UNION ALL
SELECT 'described alike',
       string_agg(pn.product || ' (' || round(s.score::numeric, 2) || ')', ', ' ORDER BY s.rank)
FROM crm_sample.product_attributes k
CROSS JOIN LATERAL crm.content_similar_items('crm_sample.product_attributes', 'product_id', 'attributes',
                                             k.product_id, n => 3) s
JOIN product_names pn ON pn.product_id = s.item_id
WHERE k.product = 'Kettle';
\echo 'A new customer (id 0, no orders yet, region North) gets popular products (cold start): the region''s'
\echo 'favourites from crm.popular_recommend_batch; every other method falls back to the most popular overall:'
CREATE TEMP TABLE customer_regions AS
SELECT customer_id, region FROM crm_sample.customers UNION ALL SELECT 0, 'North';
SELECT 'crm.popular_recommend_batch, by region' AS method,
       string_agg(pn.product || ' (' || r.reason || ', ' || r.score || ' customers)', ', ' ORDER BY r.rank) AS recommended
FROM crm.popular_recommend_batch('pg_temp.purchases', 'customer_id', 'product_id', 'times_bought', users => ARRAY[0],
                                 n => 3, customers => 'pg_temp.customer_regions', customer_col => 'customer_id',
                                 group_col => 'region') r
JOIN product_names pn ON pn.product_id = r.item_id
UNION ALL
SELECT 'crm.itemknn_recommend_batch',
       string_agg(pn.product || ' (' || r.reason || ', ' || r.score || ' customers)', ', ' ORDER BY r.rank)
FROM crm.itemknn_recommend_batch('pg_temp.purchases', 'customer_id', 'product_id', 'times_bought', users => ARRAY[0],
                                 n => 3) r
JOIN product_names pn ON pn.product_id = r.item_id;
\echo 'Item-kNN top 4 plain and re-ranked for diversity (crm.itemknn_recommend_batch, diversity 0 and 0.5), for the'
\echo 'first customer whose list changes. Products in this sample are bought independently of each other, so'
\echo 'diversity swaps items of near-equal relevance and changes few lists:'
CREATE TEMP TABLE diversified AS
SELECT d.diversity, r.user_id, array_agg(r.item_id ORDER BY r.rank) AS items
FROM unnest(ARRAY[0, 0.5]::float8[]) AS d(diversity)
CROSS JOIN LATERAL crm.itemknn_recommend_batch('pg_temp.purchases', 'customer_id', 'product_id', 'times_bought',
                                               n => 4, diversity => d.diversity) r
GROUP BY d.diversity, r.user_id;
SELECT d.diversity, d.user_id AS customer_id,
       (SELECT string_agg(pn.product, ', ' ORDER BY pn.product)
        FROM purchases p JOIN product_names pn USING (product_id) WHERE p.customer_id = d.user_id) AS bought,
       (SELECT string_agg(pn.product, ', ' ORDER BY i.rank)
        FROM unnest(d.items) WITH ORDINALITY AS i(item_id, rank)
        JOIN product_names pn ON pn.product_id = i.item_id) AS recommended
FROM diversified d
WHERE d.user_id = (SELECT min(a.user_id) FROM diversified a JOIN diversified b USING (user_id)
                   WHERE a.diversity = 0 AND b.diversity = 0.5
                     AND ARRAY(SELECT unnest(a.items) ORDER BY 1) <> ARRAY(SELECT unnest(b.items) ORDER BY 1))
ORDER BY d.diversity;
SELECT count(*) AS lists,
       count(*) FILTER (WHERE a.items <> b.items) AS lists_changed,
       count(*) FILTER (WHERE ARRAY(SELECT unnest(a.items) ORDER BY 1) <> ARRAY(SELECT unnest(b.items) ORDER BY 1))
         AS lists_with_another_product
FROM diversified a JOIN diversified b USING (user_id)
WHERE a.diversity = 0 AND b.diversity = 0.5;

\echo
\echo '== Customer lifetime value: BG/NBD + Gamma-Gamma as of 2025-01-01, 12 months, 1% a month (crm.clv_analyze)'
CREATE TEMP TABLE clv AS
SELECT * FROM crm.clv_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01');
SELECT churn_risk, count(*) AS customers,
       round(avg(clv)::numeric, 2) AS avg_clv,
       to_char(sum(clv), 'FM999,999,990') AS total_clv,
       round(avg(p_alive)::numeric, 3) AS avg_p_alive,
       round(avg(expected_purchases)::numeric, 1) AS avg_purchases_next_year,
       count(*) FILTER (WHERE c.churned_on IS NOT NULL) AS really_churned
FROM clv JOIN crm_sample.customers c ON c.customer_id = clv.customer_key
GROUP BY churn_risk ORDER BY avg(clv) DESC;
\echo 'Top 5 customers by CLV:'
SELECT c.name, v.frequency AS repeat_purchases, round(v.p_alive::numeric, 3) AS p_alive,
       round(v.expected_purchases::numeric, 1) AS purchases_next_year,
       round(v.expected_spend::numeric, 2) AS spend_per_purchase, round(v.clv::numeric, 2) AS clv, v.churn_risk
FROM clv v JOIN crm_sample.customers c ON c.customer_id = v.customer_key
ORDER BY v.clv DESC LIMIT 5;

\echo
\echo '== Market baskets: the strongest rules in the order lines (crm.association_rules_typed, FP-growth)'
CREATE TEMP TABLE basket_rules AS
SELECT * FROM crm.association_rules_typed('crm_sample.order_lines', 'order_id', 'product', 0.01, NULL::text,
                                          min_confidence => 0.5, min_len => 2);
SELECT (SELECT count(DISTINCT order_id) FROM crm_sample.order_lines) AS baskets, count(*) AS rules FROM basket_rules;
SELECT array_to_string(antecedent, ' + ') AS if_the_basket_holds, array_to_string(consequent, ' + ') AS it_also_holds,
       count AS baskets, round(confidence::numeric, 3) AS confidence, round(lift::numeric, 2) AS lift
FROM basket_rules WHERE cardinality(antecedent) = 1
ORDER BY lift DESC, confidence DESC, antecedent LIMIT 8;
\echo 'Frequently bought together with a cart of Spaghetti (crm.frequently_bought_together):'
SELECT rank, item, round(confidence::numeric, 3) AS confidence, round(lift::numeric, 2) AS lift
FROM crm.frequently_bought_together('pg_temp.basket_rules', ARRAY['Spaghetti'], n => 3);

\echo
\echo '== Customer KPIs: flow per quarter and the rates of the second half of 2024 (crm.customer_flow, crm.customer_rates)'
SELECT period_start AS quarter, active_customers AS active, new_customers AS new, returning_customers AS returning,
       reactivated_customers AS reactivated, churned_customers AS churned, customer_base,
       round(100 * churn_rate::numeric, 1) AS churn_pct
FROM crm.customer_flow('crm_sample.orders', 'customer_id', 'ordered_at', 'quarter')
ORDER BY period_start;
SELECT customers_at_start, active_customers, new_customers,
       round(100 * repeat_purchase_rate::numeric, 1) AS repeat_purchase_pct,
       round(100 * retention_rate::numeric, 1) AS retention_pct, round(100 * churn_rate::numeric, 1) AS churn_pct
FROM crm.customer_rates('crm_sample.orders', 'customer_id', 'ordered_at', '2024-07-01', '2025-01-01',
                        inactivity => '90 days');

\echo
\echo '== Customer profile: one tagged row per customer with a next best action (crm.customer_profile)'
CREATE TEMP TABLE profile AS
SELECT * FROM crm.customer_profile('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', as_of => '2024-12-31',
                                   kmeans_model => (SELECT model FROM cluster_model));
SELECT next_best_action, count(*) AS customers, round(avg(clv)::numeric) AS avg_clv
FROM profile GROUP BY 1 ORDER BY 3 DESC;
\echo 'Ten customers (a fixed pseudo-random sample), most valuable first:'
SELECT * FROM (
    SELECT c.name, p.segment, p.value_tier, p.cluster_name, round(p.clv::numeric) AS clv, p.churn_risk,
           array_to_string(p.tags, ', ') AS tags, p.next_best_action
    FROM profile p JOIN crm_sample.customers c ON c.customer_id = p.customer_key
    ORDER BY hashint4(p.customer_key::integer), p.customer_key LIMIT 10) s
ORDER BY clv DESC, name;

\echo
\echo '== Churn model: a decision tree on RFM as of 1 July 2024, predicting "orders again in the second half" (crm.tree_fit, crm.tree_rules)'
CREATE TEMP TABLE churn_train AS
SELECT r.customer_key, r.recency_days::float8 AS recency_days, r.frequency::float8 AS frequency, r.monetary,
       EXISTS (SELECT 1 FROM crm_sample.orders o
               WHERE o.customer_id = r.customer_key AND o.ordered_at >= timestamptz '2024-07-01 00:00+00') AS stays
FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', as_of => '2024-07-01 00:00+00') r;
CREATE TEMP TABLE churn_tree AS
SELECT crm.tree_fit(ARRAY[recency_days, frequency, monetary], stays,
                    crm.tree_options(max_depth => 3, min_samples_leaf => 30,
                                     feature_names => ARRAY['recency_days', 'frequency', 'monetary'])) AS m
FROM churn_train;
SELECT rule, samples AS customers, round(100 * prediction::numeric) AS pct_order_again
FROM churn_tree, crm.tree_rules(m) ORDER BY prediction DESC, rule;
\echo 'The tree against BG/NBD as a churn signal for the same customers (AUC; the tree 5-fold cross-validated).'
\echo 'P(alive) alone ranks poorly: BG/NBD gives every one-time buyer P(alive) = 1.'
WITH summaries AS (
    SELECT customer_id, crm.customer_summary(ordered_at::date, amount::float8, date '2024-06-30') AS s
    FROM crm_sample.orders GROUP BY customer_id),
bg AS (SELECT crm.bgnbd_fit((s).frequency, (s).recency, (s).age) AS m FROM summaries WHERE (s).age > 0)
SELECT 'BG/NBD P(alive) at 30 June' AS signal,
       round(((crm.binary_metrics(crm.p_alive(bg.m, (s).frequency, (s).recency, (s).age), t.stays)).auc)::numeric, 3) AS auc
FROM summaries JOIN churn_train t ON t.customer_key = summaries.customer_id, bg
UNION ALL
SELECT 'BG/NBD expected purchases, next 26 weeks',
       round(((crm.binary_metrics(crm.expected_purchases(bg.m, (s).frequency, (s).recency, (s).age, 26)
                                  / (1 + crm.expected_purchases(bg.m, (s).frequency, (s).recency, (s).age, 26)),
                                  t.stays)).auc)::numeric, 3)
FROM summaries JOIN churn_train t ON t.customer_key = summaries.customer_id, bg
UNION ALL
SELECT 'decision tree, depth 3 (cross-validated)',
       round(avg(auc)::numeric, 3)
FROM crm.tree_cross_validate('churn_train', ARRAY['recency_days', 'frequency', 'monetary'], 'stays',
                             crm.tree_options(max_depth => 3, min_samples_leaf => 30));
