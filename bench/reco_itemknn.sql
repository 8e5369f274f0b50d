-- Item-kNN neighbour lists on the 1.08M-rating data set of the performance issue
-- (50k users, 20k items, steep popularity): each item's 100 most similar items
-- by binary cosine, through crm.itemknn_fit and through the plain-SQL self-join
-- a user would write. Both produce the same lists (checked by
-- test/integration/reco_movielens.sh on MovieLens; here only timed).

-- @setup
DROP TABLE IF EXISTS lat_r;
CREATE TABLE lat_r AS SELECT DISTINCT ON (u, i) u, i, r FROM (SELECT
  (abs(hashint4(g)) % 50000) + 1 AS u, (floor(20000 * power((abs(hashint4(g + 99)) % 1000000) / 1000000.0,
  3)))::int + 1 AS i, ((abs(hashint4(g + 7)) % 5) + 1)::float8 AS r FROM generate_series(1, 1100000) g) s;
VACUUM ANALYZE lat_r;

-- @ours crm.itemknn_fit: top-100 binary-cosine neighbours of every item
SELECT count(*), round(sum(similarity)::numeric, 6)
FROM crm.itemknn_fit('lat_r', 'u', 'i', 'r', k => 100);

-- @baseline plain SQL: co-buyer counts by self-join, cosine, top 100 per item by row_number
WITH pop AS (SELECT i, count(*) AS n FROM lat_r GROUP BY i),
co AS (SELECT a.i, b.i AS j, count(*) AS c FROM lat_r a JOIN lat_r b ON a.u = b.u AND a.i <> b.i GROUP BY a.i, b.i),
sim AS (SELECT co.i, co.j, co.c / sqrt(pa.n::float8 * pb.n) AS s,
               row_number() OVER (PARTITION BY co.i ORDER BY co.c / sqrt(pa.n::float8 * pb.n) DESC, co.j) AS rn
        FROM co JOIN pop pa ON pa.i = co.i JOIN pop pb ON pb.i = co.j)
SELECT count(*), round(sum(s)::numeric, 6) FROM sim WHERE rn <= 100;
