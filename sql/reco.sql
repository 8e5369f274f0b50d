-- Item-kNN, content, hybrid, popular (cold start), diversity and reco_evaluate: values checked by hand or
-- against independent plain SQL, reasons, freshness and bad input.
\set VERBOSITY terse
CREATE TABLE reco_ratings (customer_id int, product_id bigint, bought int);
INSERT INTO reco_ratings VALUES
  (1, 10, 1), (1, 11, 1), (1, 12, 1),
  (2, 10, 1), (2, 11, 1),
  (3, 11, 1), (3, 12, 1), (3, 13, 1),
  (4, 13, 1), (4, 14, 1);
-- Binary cosine = common buyers / sqrt(buyers of i * buyers of j), against plain SQL for every pair.
WITH r AS (SELECT customer_id AS u, product_id AS i FROM reco_ratings),
pop AS (SELECT i, count(*) AS n FROM r GROUP BY i),
sql_sim AS (SELECT a.i, b.i AS j, count(*) / sqrt(pa.n * pb.n) AS sim
            FROM r a JOIN r b ON a.u = b.u AND a.i <> b.i JOIN pop pa ON pa.i = a.i JOIN pop pb ON pb.i = b.i
            GROUP BY a.i, b.i, pa.n, pb.n)
SELECT count(*) AS pairs, max(abs(f.similarity - s.sim)) < 1e-12 AS same
FROM crm.itemknn_fit('reco_ratings', 'customer_id', 'product_id', 'bought') f
FULL JOIN sql_sim s ON s.i = f.item_id AND s.j = f.neighbour_id;
-- k = 1 keeps each item's best neighbour (ties: lower id): 10 -> 11, 11 -> 10 (0.8165 = 12's), 12 -> 11, 13 -> 14, 14 -> 13.
SELECT item_id, rank, neighbour_id, round(similarity::numeric, 4) AS similarity
FROM crm.itemknn_fit('reco_ratings', 'customer_id', 'product_id', 'bought', k => 1) ORDER BY item_id;
-- User 2 has 10 and 11. Item 12 is a neighbour of 10 (0.5) and 11 (0.8165): 1.3165; item 13 of 11: 0.4082;
-- then the most popular item left (14, one buyer) fills the list.
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', users => ARRAY[2], n => 3);
-- A new customer (99) gets the popular items: 11 (3 buyers), then 10, 12, 13 (2 each, lower id first).
SELECT rank, item_id, score, reason
FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', users => ARRAY[99], n => 4);
-- Every user gets n rows, never an item they have.
SELECT count(*) AS rows, count(DISTINCT user_id) AS users,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM reco_ratings r
                                      WHERE r.customer_id = b.user_id AND r.product_id = b.item_id)) AS owned
FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 2) b;
-- Freshness: a new purchase changes the next list at once (user 2 buys 12: 13 moves up).
INSERT INTO reco_ratings VALUES (2, 12, 1);
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', users => ARRAY[2], n => 2);
DELETE FROM reco_ratings WHERE customer_id = 2 AND product_id = 12;

-- Stored neighbour lists: the same lists from a table, and a refresh of one item.
CREATE TABLE reco_nb AS SELECT * FROM crm.itemknn_fit('reco_ratings', 'customer_id', 'product_id', 'bought');
SELECT (SELECT array_agg((item_id, rank) ORDER BY rank)
        FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 3, model => 'reco_nb'))
     = (SELECT array_agg((item_id, rank) ORDER BY rank)
        FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 3)) AS same_lists;
SELECT rank, item_id, round(score::numeric, 4) AS score, reason FROM crm.similar_items('reco_nb', 11, n => 2);
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.similar_items('reco_ratings', 'customer_id', 'product_id', 'bought', 11, n => 2);
SELECT count(*) AS rows FROM crm.similar_items('reco_nb', 999);
SELECT count(*) AS rows FROM crm.itemknn_fit('reco_ratings', 'customer_id', 'product_id', 'bought', items => ARRAY[13, 999]);
-- Registered with crm.cf_track_changes, stored lists are kept by the backend between calls; a change to the
-- table is seen at once (11's neighbours 10 and 12 tie at 0.8165; raising 12 puts it first).
SELECT crm.cf_track_changes('reco_nb');
SELECT array_agg(item_id ORDER BY rank) AS first_call FROM crm.similar_items('reco_nb', 11, n => 2);
SELECT array_agg(item_id ORDER BY rank) AS cached FROM crm.similar_items('reco_nb', 11, n => 2);
UPDATE reco_nb SET similarity = 0.9 WHERE item_id = 11 AND neighbour_id = 12;
SELECT array_agg(item_id ORDER BY rank) AS after_update, max(score) AS top FROM crm.similar_items('reco_nb', 11, n => 2);
UPDATE reco_nb SET similarity = 0.816496580927726 WHERE item_id = 11 AND neighbour_id = 12;
-- A refresh that forgot to delete first: the duplicate pairs are an error, not a double-counted score.
INSERT INTO reco_nb SELECT * FROM crm.itemknn_fit('reco_ratings', 'customer_id', 'product_id', 'bought', items => ARRAY[13]);
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', model => 'reco_nb');

-- Item-based prediction on ratings (KNNWithMeans, item-based), by hand: user 1 rated 10 (5) and 20 (3);
-- predicting item 30 from items rated by both user 1 and others.
CREATE TABLE reco_stars (u int, i int, r float8);
INSERT INTO reco_stars VALUES (1, 10, 5), (1, 20, 3), (2, 10, 4), (2, 20, 2), (2, 30, 5), (3, 10, 2), (3, 30, 1);
-- means: 10 -> 11/3, 20 -> 2.5, 30 -> 3. msd(30, 10) over users 2, 3: ((5-4)^2 + (1-2)^2) / 2 = 1 -> 0.5;
-- msd(30, 20) over user 2: 9 -> 0.1. est = 3 + (0.5 (5 - 11/3) + 0.1 (3 - 2.5)) / 0.6 = 4.1944...
SELECT user_id, item_id, round(prediction::numeric, 6) AS prediction
FROM crm.itemknn_predict('reco_stars', 'u', 'i', 'r', ARRAY[1, 1, 99], ARRAY[30, 99, 10], similarity => 'msd');

-- Content: TF-IDF attribute vectors; item 15 is new (nobody bought it), reachable through its attributes.
CREATE TABLE reco_items (product_id int, tags text[]);
INSERT INTO reco_items VALUES
  (10, '{dairy,organic}'), (11, '{dairy}'), (12, '{bakery,organic}'), (13, '{frozen}'), (14, '{frozen,vegan}'),
  (15, '{dairy,organic,NULL}'), (16, NULL), (17, '{}');
-- idf over the 6 items with tags (NULL and empty arrays have none, a NULL element is ignored): dairy and
-- organic ln(6/3), bakery and vegan ln(6), frozen ln(6/2). 15 = 10 exactly (cosine 1); 11 shares dairy:
-- ln 2 / sqrt(2 ln(2)^2) = 0.7071; 12 shares organic: ln(2)^2 / (sqrt(2) ln 2 sqrt(ln(2)^2 + ln(6)^2)) = 0.2551.
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.content_similar_items('reco_items', 'product_id', 'tags', 15);
SELECT count(*) AS rows FROM crm.content_similar_items('reco_items', 'product_id', 'tags', 16);
-- User 2 (10, 11): dairy and organic weigh the same (ln 2), so with d, o the unit attribute directions the
-- profile is 10 + 11 = (d + o) / sqrt 2 + d = a d + b o with a = 1 + 1/sqrt 2, b = 1/sqrt 2. Item 15 = (d + o) / sqrt 2:
-- cosine (a + b) / (sqrt 2 |(a, b)|) = 0.9239; item 12 = (ln 2 o + ln 6 bakery) / norm: b ln 2 / (|(a, b)| norm) = 0.1381.
-- User 4 (13, 14: frozen, vegan) shares nothing with the items left: the list is popularity fill.
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.content_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_items', 'product_id', 'tags',
                                 users => ARRAY[2, 4], n => 2) ORDER BY user_id, rank;
-- Key/value rows (one attribute per row) give the same vectors as the array form.
CREATE TABLE reco_item_kv (product_id int, attribute text);
INSERT INTO reco_item_kv SELECT product_id, unnest(tags) FROM reco_items;
SELECT (SELECT array_agg((rank, item_id, round(score::numeric, 12)))
        FROM crm.content_similar_items('reco_item_kv', 'product_id', 'attribute', 12))
     = (SELECT array_agg((rank, item_id, round(score::numeric, 12)))
        FROM crm.content_similar_items('reco_items', 'product_id', 'tags', 12)) AS same_vectors;
-- Hybrid for user 2: collaborative 12 -> 1.3165, 13 -> 0.4082 (scaled: 1, 0.3101); content 15 -> 0.9239,
-- 12 -> 0.1381 (scaled: 1, 0.1495). 12: 0.9 * 1 + 0.1 * 0.1495 = 0.9149; 13: 0.9 * 0.3101 = 0.2791. 15 has no
-- buyer (new) and is in the content list of length 3 (15, 12): it takes a place, scored 0.1 * 1; none with 0 slots.
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.hybrid_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_items', 'product_id', 'tags',
                                users => ARRAY[2], n => 3);
SELECT count(*) FILTER (WHERE item_id = 15) AS new_item_rows
FROM crm.hybrid_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_items', 'product_id', 'tags',
                                users => ARRAY[2], n => 3, new_item_slots => 0);
-- Both parts weigh the user's items by rating: user 2 rates 10 three times 11. Collaborative 12 = 3 * 0.5 + 0.8165
-- = 2.3165, 13 = 0.4082 (scaled 0.1762). Profile 3 (d + o) / sqrt 2 + d = a d + b o with a = 3 / sqrt 2 + 1,
-- b = 3 / sqrt 2: 15 -> (a + b) / (sqrt 2 |(a, b)|) = 0.9823, 12 -> b ln 2 / (|(a, b)| sqrt(ln(2)^2 + ln(6)^2))
-- = 0.2028 (scaled 0.2065). 12: 0.9 + 0.1 * 0.2065 = 0.9206; 13: 0.9 * 0.1762 = 0.1586; 15: 0.1.
CREATE TABLE reco_rated AS
SELECT customer_id, product_id, CASE WHEN (customer_id, product_id) = (2, 10) THEN 3 ELSE 1 END AS stars FROM reco_ratings;
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.hybrid_recommend_batch('reco_rated', 'customer_id', 'product_id', 'stars', 'reco_items', 'product_id', 'tags',
                                users => ARRAY[2], n => 3);
-- With min_support 3 only 11 (3 buyers, user 2's own) is established: the list is the content list's new items
-- (15: 0.1 * 1; 12: 0.1 * 0.1495), then the most popular item left (13, 2 buyers).
SELECT rank, item_id, round(score::numeric, 4) AS score, reason
FROM crm.hybrid_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_items', 'product_id', 'tags',
                                users => ARRAY[2], n => 3, min_support => 3);

-- Cold start by group: customers 1 and 2 are "north", 3 and 4 "south"; a new north customer gets north's favourites.
CREATE TABLE reco_customers (customer_id int, region text);
INSERT INTO reco_customers VALUES (1, 'north'), (2, 'north'), (3, 'south'), (4, 'south'), (50, 'north'), (51, NULL);
SELECT user_id, rank, item_id, score, reason
FROM crm.popular_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', users => ARRAY[50, 51], n => 4,
                                 customers => 'reco_customers', customer_col => 'customer_id', group_col => 'region')
ORDER BY user_id, rank;

-- Diversity, by hand: user 9 has item 1. Items 2 and 3 are always bought together (cosine 1), item 4 by
-- someone else. Scores: 2 and 3: 2 / sqrt(4 * 3) = 0.5774, 4: 1 / sqrt(4 * 1) = 0.5; min-max relevance 1, 1, 0.
-- After 2, MMR values 3 at (1 - d) * 1 - d * 1 and 4 at (1 - d) * 0 - d * 0: at d = 0.6, -0.2 < 0, so 4 comes second.
CREATE TABLE reco_mmr (u int, i int);
INSERT INTO reco_mmr VALUES (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 4), (4, 2), (4, 3), (9, 1);
SELECT d, array_agg(item_id ORDER BY rank) AS items, array_agg(round(score::numeric, 4) ORDER BY rank) AS scores
FROM unnest(ARRAY[0, 0.4, 0.6]::float8[]) d,
     crm.itemknn_recommend_batch('reco_mmr', 'u', 'i', 'u', users => ARRAY[9], n => 3, diversity => d)
GROUP BY d ORDER BY d;
SELECT count(*) AS rows
FROM crm.userknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 2, diversity => 0.3);
-- userknn_recommend_batch is cf_recommend_batch in the new shape.
SELECT (SELECT array_agg((user_id, rank, item_id, score) ORDER BY user_id, rank)
        FROM crm.userknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 3))
     = (SELECT array_agg((user_id, rank, item_id, score) ORDER BY user_id, rank)
        FROM crm.cf_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 3)) AS same_as_cf;

-- Evaluation on fixed folds: fold 0 is user 1's item 12 and user 3's item 13; popular recommends 11 first...
ALTER TABLE reco_ratings ADD COLUMN fold int;
UPDATE reco_ratings SET fold = CASE WHEN (customer_id, product_id) IN ((1, 12), (3, 13), (4, 14)) THEN 0 END;
-- Training popularity: 11 (3), 10 (2), 12 (1), 13 (1). User 1 (has 10, 11) gets [12, 13]: hit at rank 1;
-- user 3 (has 11, 12) gets [10, 13]: hit at rank 2; user 4 (has 13) gets [11, 10]: miss.
-- precision (1 + 1 + 0) / 2 / 3 = 0.3333, recall 2/3, NDCG (1 + 1/log2(3)) / 3 = 0.5436, MAP (1 + 1/2) / 3 = 0.5,
-- coverage 4 of 5 training items? 14 is test-only: 4 distinct items of 4 = 1.
SELECT fold, test_ratings, users, rmse, round(precision_at_n::numeric, 4) AS p, round(recall_at_n::numeric, 4) AS r,
       round(ndcg_at_n::numeric, 4) AS ndcg, round(map_at_n::numeric, 4) AS map, coverage,
       round(mean_popularity::numeric, 4) AS mean_popularity
FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'popular', folds => 1, fold_col => 'fold',
                       n => 2, relevant_threshold => 1);
SELECT fold, users, precision_at_n IS NOT NULL AS measured, rmse IS NOT NULL AS predicts
FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'itemknn', folds => 2, n => 2,
                       relevant_threshold => 1, options => '{"k": 5, "seed": 3}');
SELECT fold, users
FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'content', folds => 1, fold_col => 'fold',
                       relevant_threshold => 1,
                       options => '{"attributes": "reco_items", "attribute_item_col": "product_id", "attribute_col": "tags"}');

-- Privileges and row-level security: the caller's. A role that may read the ratings but not the
-- attributes gets 42501; row-level security on the ratings hides other customers' rows from the lists.
CREATE ROLE crm_regress_reco;
GRANT USAGE ON SCHEMA crm TO crm_regress_reco;
GRANT SELECT ON reco_ratings TO crm_regress_reco;
ALTER TABLE reco_ratings ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_north ON reco_ratings TO crm_regress_reco USING (customer_id IN (1, 2));
SET ROLE crm_regress_reco;
SELECT sqlstate_of($$SELECT * FROM crm.content_similar_items('reco_items', 'product_id', 'tags', 15)$$) AS attributes_denied;
-- Seen: users 1 and 2 only, so items 13 and 14 (bought by 3 and 4) cannot appear.
SELECT count(*) AS rows, count(*) FILTER (WHERE item_id IN (13, 14)) AS hidden_items
FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 5);
RESET ROLE;
DROP POLICY only_north ON reco_ratings;
ALTER TABLE reco_ratings DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON reco_ratings FROM crm_regress_reco;
REVOKE USAGE ON SCHEMA crm FROM crm_regress_reco;
DROP ROLE crm_regress_reco;

-- Bad input.
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', diversity => 1.5);
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', diversity => 'NaN');
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', n => 0);
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', k => 0);
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', similarity => 'jaccard');
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', users => ARRAY[1, NULL]);
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'nope', 'bought');
SELECT * FROM crm.itemknn_recommend_batch(NULL, 'customer_id', 'product_id', 'bought');
SELECT * FROM crm.itemknn_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', model => 'reco_items');
SELECT * FROM crm.similar_items('reco_nb', NULL);
UPDATE reco_nb SET similarity = 2 WHERE item_id = 10 AND rank = 1;
SELECT * FROM crm.similar_items('reco_nb', 10);
SELECT * FROM crm.itemknn_predict('reco_stars', 'u', 'i', 'r', ARRAY[1], ARRAY[1, 2]);
SELECT * FROM crm.content_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_items', 'product_id', 'nope');
SELECT * FROM crm.content_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_customers', 'region', 'region');
SELECT * FROM crm.hybrid_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_items', 'product_id', 'tags', weight => 2);
SELECT * FROM crm.hybrid_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', 'reco_items', 'product_id', 'tags', min_support => 0);
SELECT * FROM crm.popular_recommend_batch('reco_ratings', 'customer_id', 'product_id', 'bought', group_col => 'region');
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'svdpp');
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'itemknn', options => '{"kk": 3}');
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'itemknn', options => '{"k": "3"}');
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'itemknn', options => '[1]');
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'content');
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'content', options => '{"attributes": "no_such_table", "attribute_item_col": "a", "attribute_col": "b"}');
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'popular', folds => 1);
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'popular', fold_col => 'bought', folds => 0);
SELECT * FROM crm.reco_evaluate('reco_ratings', 'customer_id', 'product_id', 'bought', 'popular', relevant_threshold => 'Infinity');
DROP TABLE reco_ratings, reco_nb, reco_stars, reco_items, reco_item_kv, reco_customers, reco_mmr;
