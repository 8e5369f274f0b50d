-- Decision trees and random forests (docs/trees.md).
-- A hand-computable tree: y is true exactly when a > 4.5 and b is not 3.
CREATE TABLE tree_rows AS
SELECT ARRAY[(g % 10)::float8, (g % 7)::float8] AS f, (g % 10) > 4 AND (g % 7) <> 3 AS y
FROM generate_series(1, 1000) g;
CREATE TABLE tree_model AS
SELECT crm.tree_fit(f, y, crm.tree_options(max_depth => 3, feature_names => ARRAY['a', 'b'])) AS m FROM tree_rows;
SELECT * FROM crm.tree_rules((SELECT m FROM tree_model));
SELECT kind, trees, depth, leaves, samples, oob_score, feature_names, criterion, max_depth FROM crm.tree_info((SELECT m FROM tree_model));
-- Importance by hand: the root (1000 rows, 429 true) splits on a into 500 false rows and 500 rows with 429
-- true; the b splits then make that side pure, so b removes all of its weighted Gini impurity and a the rest.
SELECT feature, name, round(importance::numeric, 9) AS ours,
       round((CASE feature WHEN 1 THEN 1000 * (1 - 0.429 ^ 2 - 0.571 ^ 2) - 500 * (1 - 0.858 ^ 2 - 0.142 ^ 2)
                           ELSE 500 * (1 - 0.858 ^ 2 - 0.142 ^ 2) END
              / (1000 * (1 - 0.429 ^ 2 - 0.571 ^ 2)))::numeric, 9) AS by_hand
FROM crm.tree_importance((SELECT m FROM tree_model));
SELECT (r).rows, (r).positives, (r).auc, (r).accuracy, (r).precision, (r).recall
FROM (SELECT crm.binary_metrics(crm.tree_predict(m, f), y) AS r FROM tree_rows, tree_model) s;
-- The root split threshold is the midpoint 4.5 between the values 4 and 5; a missing value follows the
-- larger child (a <= 4.5: 500 rows against 500, a tie goes left).
SELECT crm.tree_predict(m, ARRAY[4.5, 1]) AS at_threshold, crm.tree_predict(m, ARRAY[4.6, 1]) AS above,
       crm.tree_predict(m, ARRAY[NULL, 1]) AS a_missing, crm.tree_predict(m, ARRAY[7, NULL]) AS b_missing
FROM tree_model;
-- The text form round-trips exactly (dump and restore), and so does the binary form.
SELECT (m::text)::crm.tree_model::text = m::text AS text_round_trip FROM tree_model;
SELECT crm._tree_model_send(m) = crm._tree_model_send((m::text)::crm.tree_model) AS same_bytes FROM tree_model;

-- Class weights, as scikit-learn's class_weight: weighting true rows 3x turns a 1:2 leaf into 3:2.
CREATE TABLE weighted AS SELECT ARRAY[1.0]::float8[] AS f, g <= 10 AS y FROM generate_series(1, 30) g;
SELECT crm.tree_predict(crm.tree_fit(f, y), ARRAY[1.0]) AS unweighted,
       crm.tree_predict(crm.tree_fit(f, y, crm.tree_options(class_weight_true => 3)), ARRAY[1.0]) AS weighted
FROM weighted;
-- Regression: leaf means; squared error.
SELECT round(crm.tree_predict(crm.regression_tree_fit(ARRAY[x], y, crm.tree_options(max_depth => 1)), ARRAY[2.0])::numeric, 6) AS low_mean,
       round(crm.tree_predict(crm.regression_tree_fit(ARRAY[x], y, crm.tree_options(max_depth => 1)), ARRAY[20.0])::numeric, 6) AS high_mean
FROM (VALUES (1.0::float8, 1.0::float8), (2, 2), (3, 3), (10, 10), (11, 12), (12, 14)) t(x, y);
-- min_samples_leaf stops splits; a constant feature gives one leaf.
SELECT (crm.tree_info(crm.tree_fit(f, y, crm.tree_options(min_samples_leaf => 400)))).leaves AS big_leaves FROM tree_rows;
SELECT (crm.tree_info(crm.tree_fit(ARRAY[1.0::float8], g % 2 = 0))).leaves AS constant_feature FROM generate_series(1, 10) g;
-- One class only is an error: the label query is almost certainly wrong.
SELECT sqlstate_of($$SELECT crm.tree_fit(ARRAY[g::float8], true) FROM generate_series(1, 10) g$$);

-- Same rows, same model: in any order, split over parallel workers, or gathered on shards.
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CREATE TABLE tree_big AS
SELECT ARRAY[(hashint4(g) % 100)::float8, (hashint4(g + 1) % 50)::float8, (g % 13)::float8] AS f,
       (hashint4(g) % 100) + (g % 13) * 3 > 40 AS y FROM generate_series(1, 20000) g;
SELECT crm._tree_model_send(crm.tree_fit(f, y, crm.tree_options(max_depth => 6))) = (
         SELECT crm._tree_model_send(crm.tree_fit(f, y, crm.tree_options(max_depth => 6)))
         FROM (SELECT * FROM tree_big ORDER BY f[2] DESC, f[1]) s) AS order_independent,
       crm._tree_model_send(crm.tree_fit(f, y, crm.tree_options(max_depth => 6))) = (
         SELECT crm._tree_model_send(crm.tree_fit_combine(p))
         FROM (SELECT crm.tree_fit_partial(f, y, crm.tree_options(max_depth => 6)) AS p
               FROM tree_big GROUP BY f[3]) shards) AS shards_give_the_same_model
FROM tree_big;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- A seeded forest: deterministic, with an out-of-bag score; cross-validation and the one-call form.
SELECT crm._tree_model_send(crm.tree_fit(f, y, crm.tree_options(n_trees => 10, seed => 7))) =
       crm._tree_model_send(crm.tree_fit(f, y, crm.tree_options(n_trees => 10, seed => 7))) AS seeded,
       (crm.tree_info(crm.tree_fit(f, y, crm.tree_options(n_trees => 10, seed => 7)))).oob_score > 0.95 AS good_oob
FROM tree_big;
CREATE TABLE tree_flat AS SELECT f[1] AS u, f[2] AS v, f[3] AS w, y FROM tree_big;
SELECT fold, train_rows, test_rows, auc > 0.95 AS good_auc
FROM crm.tree_cross_validate('tree_flat', ARRAY['u', 'v', 'w'], 'y', crm.tree_options(max_depth => 6), folds => 4);
SELECT crm._tree_model_send(crm.tree_fit_table('tree_flat', ARRAY['u', 'v', 'w'], 'y', crm.tree_options(max_depth => 6))) =
       crm._tree_model_send((SELECT crm.tree_fit(ARRAY[u, v, w], y, crm.tree_options(max_depth => 6, feature_names => ARRAY['u', 'v', 'w'])) FROM tree_flat))
       AS one_call_form;

-- binary_metrics by hand: scores 0.9 0.8 0.4 0.3 for labels t f t f: AUC 3/4, threshold 0.5 -> TP 1, FP 1.
SELECT (m).* FROM (SELECT crm.binary_metrics(s, l) AS m
                   FROM (VALUES (0.9, true), (0.8, false), (0.4, true), (0.3, false), (NULL, true)) t(s, l)) q;
SELECT ((crm.binary_metrics(s, l, 0.35)).recall) AS recall_at_035
FROM (VALUES (0.9, true), (0.8, false), (0.4, true), (0.3, false)) t(s, l);

-- Bad input.
SELECT sqlstate_of($$SELECT crm.tree_fit(ARRAY['NaN'::float8], true)$$);
SELECT sqlstate_of($$SELECT crm.tree_fit(ARRAY['Infinity'::float8], true)$$);
SELECT sqlstate_of($$SELECT crm.tree_fit(f, y) FROM (VALUES (ARRAY[1.0::float8], true), (ARRAY[1.0, 2.0], false)) t(f, y)$$);
SELECT sqlstate_of($$SELECT crm.tree_fit(ARRAY[]::float8[], true)$$);
SELECT sqlstate_of($$SELECT crm.tree_options(min_samples_leaf => 0)$$);
SELECT sqlstate_of($$SELECT crm.tree_options(max_depth => 0)$$);
SELECT sqlstate_of($$SELECT crm.tree_options(criterion => 'mse')$$);
SELECT sqlstate_of($$SELECT crm.regression_tree_fit(ARRAY[1.0::float8], 1.0, crm.tree_options(criterion => 'gini'))$$);
SELECT sqlstate_of($$SELECT crm.tree_fit(f, y, crm.tree_options(feature_names => ARRAY['only_one']))
                     FROM (VALUES (ARRAY[1.0::float8, 2.0], true), (ARRAY[2.0, 1.0], false)) t(f, y)$$);
SELECT sqlstate_of($$SELECT crm.tree_predict(m, ARRAY[1.0]) FROM tree_model$$);
SELECT sqlstate_of($$SELECT crm.tree_rules(m, 2) FROM tree_model$$);
SELECT sqlstate_of($$SELECT '{"format": "crm.tree_model", "version": 9}'::crm.tree_model$$);
SELECT sqlstate_of($$SELECT 'not json'::crm.tree_model$$);
SELECT sqlstate_of($$SELECT crm.binary_metrics(1.5, true)$$);
SELECT sqlstate_of($$SELECT crm.tree_fit_combine('\x00'::bytea)$$);
SELECT sqlstate_of($$SELECT * FROM crm.tree_cross_validate('tree_flat', ARRAY['u'], 'y', folds => 1)$$);
SELECT sqlstate_of($$SELECT crm.tree_fit_table('tree_flat', ARRAY['nope'], 'y')$$);
-- NULL rows are skipped (NOTICE); no rows gives NULL.
SELECT (crm.tree_info(crm.tree_fit(f, y))).samples
FROM (VALUES (ARRAY[1.0::float8], true), (ARRAY[3.0], false), (NULL, false), (ARRAY[2.0], NULL)) t(f, y);
SELECT crm.tree_fit(ARRAY[1.0::float8], true) IS NULL AS no_rows FROM generate_series(1, 0);
DROP TABLE tree_rows, tree_model, weighted, tree_big, tree_flat;
