#!/usr/bin/env bash
# Collaborative filtering against the published reference on MovieLens 100k
# (skips when ../shared/data is absent): crm.cf_evaluate's 5-fold RMSE/MAE with
# MSD similarity within 0.005 of Surprise KNNWithMeans (0.951 / 0.749), and
# top-N precision@10 clearly above "most popular" (about 0.14).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
DATA="$SHARED_DIR/data/movielens-100k/u.data"
[ -f "$DATA" ] || skip "no $DATA"
fresh_database cf_movielens
sql -c "CREATE TABLE ratings (user_id int, item_id int, rating smallint, ts bigint)" \
    -c "\\copy ratings FROM '$DATA'"
result=$(sql -F ' ' -c "SELECT round(avg(rmse)::numeric, 4), round(avg(mae)::numeric, 4), round(avg(precision_at_n)::numeric, 4), round(avg(recall_at_n)::numeric, 4)
                      FROM crm.cf_evaluate('ratings', 'user_id', 'item_id', 'rating', folds => 5, k => 40, similarity => 'msd', seed => 1)")
read -r rmse mae precision recall <<<"$result"
popular=$(sql -c "
  WITH split AS (SELECT *, abs(hashint8(user_id * 100000 + item_id)) % 5 = 0 AS test FROM ratings),  -- 80/20
       popular AS (SELECT item_id, count(*) AS n FROM split WHERE NOT test GROUP BY item_id),
       users AS (SELECT DISTINCT user_id FROM split WHERE test AND rating >= 4),
       top AS (SELECT u.user_id, p.item_id FROM users u CROSS JOIN LATERAL (
                 SELECT p.item_id FROM popular p WHERE NOT EXISTS (
                   SELECT 1 FROM split s WHERE NOT s.test AND s.user_id = u.user_id AND s.item_id = p.item_id)
                 ORDER BY p.n DESC, p.item_id LIMIT 10) p)
  SELECT round(avg(hits / 10.0), 4) FROM (
    SELECT t.user_id, count(s.item_id) AS hits FROM top t
    LEFT JOIN split s ON s.user_id = t.user_id AND s.item_id = t.item_id AND s.test AND s.rating >= 4
    GROUP BY t.user_id) h")
echo "  5-fold msd: RMSE $rmse (Surprise 0.951), MAE $mae (0.749); precision@10 $precision, recall@10 $recall; most popular precision@10 $popular"
awk -v r="$rmse" -v m="$mae" -v p="$precision" -v q="$popular" 'BEGIN {
  ok = (r - 0.951 <= 0.005 && 0.951 - r <= 0.005 && m - 0.749 <= 0.005 && 0.749 - m <= 0.005 && p >= 0.20 && p > q + 0.05)
  exit !ok }' || fail "accuracy outside the published reference"
