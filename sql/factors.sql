-- Latent-factor models: ALS lists and SVD predictions against plain SQL over the model's own JSON,
-- fold-in for new users, the source check, the text form, bad input.
\set VERBOSITY terse
CREATE TABLE lf_buys (customer_id int, product_id int, times int);
INSERT INTO lf_buys
SELECT u, i, 1 + (u * i) % 3 FROM generate_series(1, 30) u, generate_series(1, 12) i WHERE (u * 7 + i * 3) % 5 < 2;
CREATE TABLE lf_models AS
SELECT crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', factors => 3, regularization => 0.5, alpha => 2,
                   iterations => 5, seed => 7) AS als;
SELECT crm.factor_model_info(als) - 'training_mse' AS info, (crm.factor_model_info(als) ->> 'training_mse')::float8 < 1 AS fits
FROM lf_models;
-- The lists equal plain SQL over the model's JSON: score = x_u . y_i with the stored factors (which are
-- exactly what fold-in solves from the same rows), the user's own products excluded, ties by lower id.
WITH m AS (SELECT als::text::jsonb AS j FROM lf_models),
uf AS (SELECT (e ->> 'id')::bigint AS u, ARRAY(SELECT jsonb_array_elements_text(e -> 'factors')::float8) AS f
       FROM m, jsonb_array_elements(j -> 'user_factors') e),
itf AS (SELECT (e ->> 'id')::bigint AS i, ARRAY(SELECT jsonb_array_elements_text(e -> 'factors')::float8) AS f
        FROM m, jsonb_array_elements(j -> 'item_factors') e),
scored AS (SELECT uf.u, itf.i, (SELECT sum(a * b) FROM unnest(uf.f, itf.f) AS t(a, b)) AS s
           FROM uf CROSS JOIN itf
           WHERE NOT EXISTS (SELECT 1 FROM lf_buys b WHERE b.customer_id = uf.u AND b.product_id = itf.i)),
expected AS (SELECT u, i, s, row_number() OVER (PARTITION BY u ORDER BY s DESC, i) AS rank FROM scored),
got AS (SELECT * FROM crm.als_recommend_batch((SELECT als FROM lf_models), 'lf_buys', 'customer_id', 'product_id', 'times', n => 3))
SELECT count(*) AS rows, count(*) FILTER (WHERE e.i = g.item_id AND abs(e.s - g.score) < 1e-9) AS same,
       count(DISTINCT g.reason) AS reasons, min(g.reason) AS reason
FROM got g JOIN expected e ON e.u = g.user_id AND e.rank = g.rank;
-- A new purchase counts at once, and a customer the model has never seen is folded in from their rows;
-- a customer with no rows gets the popular products.
INSERT INTO lf_buys VALUES (99, 1, 3), (99, 2, 1);
SELECT user_id, count(*) AS rows, min(reason) AS reason, bool_and(item_id NOT IN (1, 2)) AS own_excluded
FROM crm.als_recommend_batch((SELECT als FROM lf_models), 'lf_buys', 'customer_id', 'product_id', 'times',
                             users => ARRAY[99, 100], n => 4)
GROUP BY user_id ORDER BY user_id;
DELETE FROM lf_buys WHERE customer_id = 99;
-- The text form round-trips exactly.
SELECT crm._factor_model_send(als::text::crm.factor_model) = crm._factor_model_send(als) AS text_round_trip FROM lf_models;

-- SVD: stored predictions equal mean + biases + dot product from the JSON, clipped; unknowns fall back.
CREATE TABLE lf_stars AS SELECT customer_id, product_id, 1 + (customer_id + 2 * product_id) % 5 AS stars FROM lf_buys;
ALTER TABLE lf_models ADD COLUMN svd crm.factor_model;
UPDATE lf_models SET svd = crm.svd_fit('lf_stars', 'customer_id', 'product_id', 'stars', factors => 4, epochs => 30, seed => 1);
WITH m AS (SELECT svd, svd::text::jsonb AS j FROM lf_models),
uf AS (SELECT (e ->> 'id')::bigint AS u, (e ->> 'bias')::float8 AS b,
              ARRAY(SELECT jsonb_array_elements_text(e -> 'factors')::float8) AS f
       FROM m, jsonb_array_elements(j -> 'user_factors') e),
itf AS (SELECT (e ->> 'id')::bigint AS i, (e ->> 'bias')::float8 AS b,
               ARRAY(SELECT jsonb_array_elements_text(e -> 'factors')::float8) AS f
        FROM m, jsonb_array_elements(j -> 'item_factors') e)
SELECT count(*) AS pairs,
       max(abs(crm.svd_predict(m.svd, uf.u, itf.i)
               - least(5, greatest(1, (m.j ->> 'global_mean')::float8 + uf.b + itf.b
                                      + (SELECT sum(a * c) FROM unnest(uf.f, itf.f) AS t(a, c)))))) < 1e-9 AS same
FROM m, uf, itf;
SELECT round(crm.svd_predict(svd, -1, -1)::numeric, 6) = round((SELECT avg(stars) FROM lf_stars)::numeric, 6) AS unknown_is_mean
FROM lf_models;
-- Fold-in for a user the model has never seen: a few ratings give personal predictions within the scale.
INSERT INTO lf_stars VALUES (200, 1, 5), (200, 2, 5), (200, 3, 1);
SELECT count(*) AS rows, bool_and(prediction BETWEEN 1 AND 5) AS on_scale, count(DISTINCT round(prediction::numeric, 6)) > 1 AS personal
FROM crm.svd_predict((SELECT svd FROM lf_models), 'lf_stars', 'customer_id', 'product_id', 'stars',
                     ARRAY[200, 200, 200, 200], ARRAY[4, 5, 6, 7]);

-- The data version: a model fitted on a table registered with crm.cf_track_changes records the version it saw.
SELECT crm.cf_track_changes('lf_buys');
INSERT INTO lf_buys VALUES (1, 12, 1);
SELECT (crm.factor_model_info(crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', factors => 2)) -> 'data_version')::bigint
       = (SELECT version FROM crm.cf_tracked_tables WHERE ratings = 'lf_buys'::regclass) AS version_recorded;
DELETE FROM lf_buys WHERE customer_id = 1 AND product_id = 12;

-- The source check: another relation (or a renamed one) is refused unless forced.
CREATE TABLE lf_copy AS SELECT * FROM lf_buys;
SELECT count(*) FROM crm.als_recommend_batch((SELECT als FROM lf_models), 'lf_copy', 'customer_id', 'product_id', 'times');
SELECT count(*) > 0 AS forced FROM crm.als_recommend_batch((SELECT als FROM lf_models), 'lf_copy', 'customer_id', 'product_id', 'times', force => true);

-- Bad input.
SELECT crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', factors => 0);
SELECT crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', regularization => -1);
SELECT crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', alpha => 0);
SELECT crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', iterations => 0);
SELECT crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', seed => NULL);
CREATE TABLE lf_negative (u int, i int, r int);
INSERT INTO lf_negative VALUES (1, 1, -2), (1, 2, 1);
SELECT crm.als_fit('lf_negative', 'u', 'i', 'r');
SELECT crm.als_fit('lf_negative', 'u', 'i', 'nope');
DELETE FROM lf_negative;
SELECT crm.als_fit('lf_negative', 'u', 'i', 'r');
SELECT crm.svd_fit('lf_stars', 'customer_id', 'product_id', 'stars', epochs => 0);
SELECT crm.svd_fit('lf_stars', 'customer_id', 'product_id', 'stars', learning_rate => 0);
-- A fit that diverges is refused rather than stored as a value that could never be read back.
SELECT crm.svd_fit('lf_stars', 'customer_id', 'product_id', 'stars', learning_rate => 1e6, init_std => 1e6);
SELECT crm.als_fit('lf_buys', 'customer_id', 'product_id', 'times', factors => 10001);
SELECT count(*) FROM crm.als_recommend_batch((SELECT svd FROM lf_models), 'lf_stars', 'customer_id', 'product_id', 'stars');
SELECT crm.svd_predict(als, 1, 1) FROM lf_models;
SELECT count(*) FROM crm.als_recommend_batch(NULL, 'lf_buys', 'customer_id', 'product_id', 'times');
SELECT count(*) FROM crm.als_recommend_batch((SELECT als FROM lf_models), 'lf_buys', 'customer_id', 'product_id', 'times', n => 0);
SELECT count(*) FROM crm.als_recommend_batch((SELECT als FROM lf_models), 'lf_buys', 'customer_id', 'product_id', 'times', diversity => 2);
SELECT '{"format": "something else"}'::crm.factor_model;
SELECT 'not json'::crm.factor_model;
SELECT crm.svd_predict(NULL::crm.factor_model, 1, 1) IS NULL AS strict_null;
DROP TABLE lf_buys, lf_models, lf_stars, lf_copy, lf_negative;
