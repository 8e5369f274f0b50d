-- Collaborative filtering: prediction, top-N, batch, evaluation, cache freshness, bad input.
\set VERBOSITY terse
CREATE TABLE cf_ratings (customer_id int, product_id bigint, rating numeric);
INSERT INTO cf_ratings VALUES
  (1, 10, 5), (1, 20, 3), (1, 30, 4),
  (2, 10, 3), (2, 20, 1), (2, 30, 2), (2, 40, 3),
  (3, 10, 4), (3, 20, 3), (3, 40, 5),
  (4, 20, 2), (4, 30, 4), (4, 40, 1);

-- Resnick with MSD similarity, by hand for (user 1, item 40): the raters of item 40 are users 2, 3, 4.
-- means: u1 4, u2 2.25, u3 4, u4 2.333...; co-rated msd: u1~u2 (4+4+4)/3 = 4 -> sim 0.2;
-- u1~u3 (1+0)/2 = 0.5 -> sim 0.6667; u1~u4 (1+0)/2 = 0.5 -> sim 0.6667.
-- est = 4 + (0.2 (3 - 2.25) + 0.6667 (5 - 4) + 0.6667 (1 - 2.3333)) / (0.2 + 0.6667 + 0.6667) = 3.9528985...
SELECT user_id, item_id, round(prediction::numeric, 6) AS prediction
FROM crm.cf_predict('cf_ratings', 'customer_id', 'product_id', 'rating', ARRAY[1], ARRAY[40]);
-- Unknown user or item: the global mean (40 / 13 = 3.076923); min_k above the neighbours: the user's mean.
SELECT user_id, item_id, round(prediction::numeric, 6) AS prediction
FROM crm.cf_predict('cf_ratings', 'customer_id', 'product_id', 'rating', ARRAY[99, 1, 1], ARRAY[10, 99, 40], min_k => 5);
-- Each similarity against an independent plain-SQL computation of Surprise's
-- definitions (similarities on co-rated items; neighbours: raters of the item
-- with similarity > 0; Resnick's mean-centred average; the user's mean if none),
-- for every (user, item) pair of the table's users and the items they have not rated.
WITH r AS (SELECT customer_id AS u, product_id AS i, rating::float8 AS x FROM cf_ratings),
means AS (SELECT u, avg(x) AS m FROM r GROUP BY u),
pairs AS (SELECT a.u, b.u AS v, count(*) AS n, sum(a.x * b.x) AS sxy, sum(a.x) AS sx, sum(b.x) AS sy,
                 sum(a.x ^ 2) AS sxx, sum(b.x ^ 2) AS syy, avg((a.x - b.x) ^ 2) AS msd
          FROM r a JOIN r b ON a.i = b.i AND a.u <> b.u GROUP BY 1, 2),
sims AS (SELECT p.u, p.v, s.name,
                CASE s.name WHEN 'msd' THEN 1 / (p.msd + 1)
                            WHEN 'cosine' THEN p.sxy / sqrt(p.sxx * p.syy)
                            ELSE (p.n * p.sxy - p.sx * p.sy) / nullif(sqrt((p.n * p.sxx - p.sx ^ 2) * (p.n * p.syy - p.sy ^ 2)), 0) END AS sim
         FROM pairs p, (VALUES ('msd'), ('cosine'), ('pearson')) s(name)),
targets AS (SELECT DISTINCT m.u, r.i, s.name, m.m FROM means m, r, (VALUES ('msd'), ('cosine'), ('pearson')) s(name)
            WHERE NOT EXISTS (SELECT 1 FROM r own WHERE own.u = m.u AND own.i = r.i)),
reference AS (
  SELECT t.name, t.u, t.i,
         greatest(1, least(5, t.m + coalesce(sum(s.sim * (rv.x - mv.m)) FILTER (WHERE s.sim > 0)
                                             / nullif(sum(s.sim) FILTER (WHERE s.sim > 0), 0), 0))) AS expected
  FROM targets t
  LEFT JOIN r rv ON rv.i = t.i AND rv.u <> t.u
  LEFT JOIN sims s ON s.u = t.u AND s.v = rv.u AND s.name = t.name
  LEFT JOIN means mv ON mv.u = rv.u
  GROUP BY t.name, t.u, t.i, t.m)
SELECT ref.name AS similarity, count(*) AS pairs,
       max(abs(p.prediction - ref.expected)) < 1e-12 AS equals_reference,
       count(DISTINCT round(p.prediction::numeric, 9)) = count(*) AS all_distinct
FROM reference ref,
     crm.cf_predict('cf_ratings', 'customer_id', 'product_id', 'rating', ARRAY[ref.u]::bigint[], ARRAY[ref.i]::bigint[],
                    similarity => ref.name) p
GROUP BY ref.name ORDER BY 1;

-- Top-N: items the user has not rated; a new user gets the most popular items, flagged.
SELECT item_id, round(score::numeric, 6) AS score, popular_fallback, rank
FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'rating', 1);
SELECT item_id, score, popular_fallback, rank
FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'rating', 999, n => 3);
SELECT user_id, rank, item_id, popular_fallback
FROM crm.cf_recommend_batch('cf_ratings', 'customer_id', 'product_id', 'rating', n => 1) ORDER BY user_id;
SELECT user_id, count(*) FROM crm.cf_recommend_batch('cf_ratings', 'customer_id', 'product_id', 'rating', ARRAY[3, 1000]::bigint[], n => 2)
GROUP BY 1 ORDER BY 1;

-- Freshness with the per-backend cache: a new rating changes the next recommendation.
SELECT crm.cf_track_changes('cf_ratings');
SELECT array_agg(item_id ORDER BY rank) AS before FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'rating', 1);
INSERT INTO cf_ratings VALUES (1, 40, 2);
SELECT array_agg(item_id ORDER BY rank) AS after FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'rating', 1);
-- Nobody writes or locks the versions table directly (a role that could would
-- block every writer of every tracked table); the trigger bumps it.
SELECT ratings, version > 0 AS bumped, cacheable FROM crm.cf_tracked_tables;
CREATE ROLE crm_regress_writer;
GRANT USAGE ON SCHEMA crm TO crm_regress_writer;
SET ROLE crm_regress_writer;
SELECT sqlstate_of($$UPDATE crm.cf_table_versions SET version = 0$$) AS update_denied;
SELECT sqlstate_of($$INSERT INTO crm.cf_table_versions VALUES (1, 1)$$) AS insert_denied;
SELECT sqlstate_of($$LOCK TABLE crm.cf_table_versions IN ACCESS EXCLUSIVE MODE$$) AS lock_denied;
SELECT sqlstate_of($$SELECT * FROM crm.cf_table_versions FOR UPDATE$$) AS row_lock_denied;
RESET ROLE;
REVOKE USAGE ON SCHEMA crm FROM crm_regress_writer;
DROP ROLE crm_regress_writer;

-- Duplicate (user, item) rows are averaged; NULL rows skipped (NOTICE).
CREATE TABLE cf_dups (u int, i int, r float8);
INSERT INTO cf_dups VALUES (1, 1, 2), (1, 1, 4), (2, 1, 5), (2, 2, 1), (1, 2, NULL), (NULL, 1, 3);
SELECT round(prediction::numeric, 6) FROM crm.cf_predict('cf_dups', 'u', 'i', 'r', ARRAY[7], ARRAY[1]);

-- Evaluation per fold.
SELECT fold, test_ratings, rmse IS NOT NULL AS has_rmse FROM crm.cf_evaluate('cf_ratings', 'customer_id', 'product_id', 'rating', folds => 2);
-- Empty table: no rows.
CREATE TABLE cf_empty (LIKE cf_ratings);
SELECT count(*) FROM crm.cf_recommend('cf_empty', 'customer_id', 'product_id', 'rating', 1);

-- Errors.
SELECT sqlstate_of($$SELECT * FROM crm.cf_predict('cf_ratings', 'customer_id', 'product_id', 'rating', ARRAY[1, 2], ARRAY[10])$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_predict('cf_ratings', 'customer_id', 'product_id', 'rating', ARRAY[1], ARRAY[10], k => 0)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_predict('cf_ratings', 'customer_id', 'product_id', 'rating', ARRAY[1], ARRAY[10], similarity => 'jaccard')$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'rating', 1, n => 0)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'rating', NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'rating', 1, neighbours => 'x')$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_ratings', 'customer_id', 'nope', 'rating', 1)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_ratings', 'customer_id', 'product_id', 'customer_id', 1)$$);
SELECT sqlstate_of($$SELECT * FROM crm.cf_evaluate('cf_ratings', 'customer_id', 'product_id', 'rating', folds => 1)$$);
CREATE TABLE cf_text (u text, i int, r float8);
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_text', 'u', 'i', 'r', 1)$$);
CREATE TABLE cf_nan (u int, i int, r float8);
INSERT INTO cf_nan VALUES (1, 1, 'NaN');
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_nan', 'u', 'i', 'r', 1)$$);
-- A rating matrix over crm.max_fit_memory: a clear error, not the OOM killer.
CREATE TABLE cf_many AS SELECT i % 1000 AS u, i % 300 AS i, 1 + i % 5 AS r FROM generate_series(1, 20000) i;
SET crm.max_fit_memory = '1MB';
SELECT sqlstate_of($$SELECT * FROM crm.cf_recommend('cf_many', 'u', 'i', 'r', 1)$$);
RESET crm.max_fit_memory;
