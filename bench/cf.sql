-- Collaborative filtering on MovieLens 100k, read from ../shared/data beside the
-- checkout (not shipped; bench/run.sh runs from the repository root). Surprise's published
-- time for the same 5-fold KNNWithMeans evaluation is about 10 s.

-- @setup
DROP TABLE IF EXISTS bench_ml;
CREATE TABLE bench_ml (user_id int, item_id int, rating float8, ts bigint);
\copy bench_ml FROM '../shared/data/movielens-100k/u.data'
-- One fixed 80/20 split for the plain-SQL variant.
DROP TABLE IF EXISTS bench_ml_split;
CREATE TABLE bench_ml_split AS SELECT *, abs(hashint8(user_id * 100000 + item_id)) % 5 = 0 AS test FROM bench_ml;
ANALYZE bench_ml; ANALYZE bench_ml_split;

-- @ours crm.cf_evaluate: 5 folds, msd, k = 40 (RMSE, MAE, precision@10, recall@10)
SELECT round(avg(rmse)::numeric, 4), round(avg(mae)::numeric, 4), round(avg(precision_at_n)::numeric, 4)
FROM crm.cf_evaluate('bench_ml', 'user_id', 'item_id', 'rating', folds => 5, k => 40, similarity => 'msd');

-- @baseline plain SQL user-based CF, ONE fold: MSD similarity by self-join on co-rated items, top-40 neighbours among the item's raters, Resnick prediction
WITH train AS (SELECT user_id, item_id, rating FROM bench_ml_split WHERE NOT test),
means AS (SELECT user_id, avg(rating) AS mean FROM train GROUP BY user_id),
sims AS (SELECT a.user_id AS u, b.user_id AS v, 1 / (avg((a.rating - b.rating) ^ 2) + 1) AS sim
         FROM train a JOIN train b ON a.item_id = b.item_id AND a.user_id <> b.user_id
         GROUP BY a.user_id, b.user_id),
cand AS (SELECT t.user_id, t.item_id, t.rating AS actual, s.sim, r.rating - m.mean AS dev,
                row_number() OVER (PARTITION BY t.user_id, t.item_id ORDER BY s.sim DESC, r.user_id) AS rn
         FROM bench_ml_split t
         JOIN train r ON r.item_id = t.item_id
         JOIN sims s ON s.u = t.user_id AND s.v = r.user_id
         JOIN means m ON m.user_id = r.user_id
         WHERE t.test),
pred AS (SELECT t.user_id, t.item_id, t.rating AS actual,
                least(5, greatest(1, coalesce(mu.mean + sum(c.sim * c.dev) / nullif(sum(c.sim), 0), mu.mean,
                                              (SELECT avg(rating) FROM train)))) AS est
         FROM bench_ml_split t
         LEFT JOIN means mu ON mu.user_id = t.user_id
         LEFT JOIN cand c ON c.user_id = t.user_id AND c.item_id = t.item_id AND c.rn <= 40 AND c.sim > 0
         WHERE t.test
         GROUP BY t.user_id, t.item_id, t.rating, mu.mean)
SELECT sqrt(avg((est - actual) ^ 2)), avg(abs(est - actual)) FROM pred;
