-- k-means: 1M points x 8 features in 8 blobs, k = 8, n_init = 10.

-- @setup
DROP TABLE IF EXISTS bench_km;
SELECT setseed(0.25);
CREATE TABLE bench_km AS
SELECT i AS id,
       (c * 7 % 11) + 2.5 * n[1] AS a, (c * 3 % 13) + 2.5 * n[2] AS b, (c * 5 % 7) + 2.5 * n[3] AS c1,
       (c * 2 % 9) + 2.5 * n[4] AS d, (c * 11 % 17) + 2.5 * n[5] AS e, (c * 13 % 5) + 2.5 * n[6] AS f,
       (c * 17 % 19) + 2.5 * n[7] AS g, (c * 19 % 23) + 2.5 * n[8] AS h
FROM (SELECT i, (i % 8) AS c,
             ARRAY(SELECT sqrt(-2 * ln(random())) * cos(2 * pi() * random()) FROM generate_series(1, 8) WHERE i > 0) AS n
      FROM generate_series(1, 1000000) i) s;
VACUUM ANALYZE bench_km;
DROP TABLE IF EXISTS bench_km_model;
CREATE TABLE bench_km_model AS
SELECT crm.kmeans_fit(ARRAY[a, b, c1, d, e, f, g, h], crm.kmeans_options(8, seed => 1, n_init => 1)) AS model FROM bench_km;
DROP TABLE IF EXISTS bench_km_centroids;
CREATE TABLE bench_km_centroids AS
SELECT cluster AS cid, centroid[1] a, centroid[2] b, centroid[3] c1, centroid[4] d, centroid[5] e, centroid[6] f,
       centroid[7] g, centroid[8] h
FROM bench_km_model, crm.kmeans_clusters(model);

-- @ours crm.kmeans_fit from the table, k = 8, n_init = 10 (z-score scaling)
SELECT (crm.kmeans_info(crm.kmeans_fit(ARRAY[a, b, c1, d, e, f, g, h], crm.kmeans_options(8, seed => 1, n_init => 10)))).inertia
FROM bench_km;

-- @python scikit-learn KMeans(k = 8, n_init = 10) on the same data already in memory (StandardScaler first)
import io, os, subprocess, time
import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
raw = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-At", "-c",
                      "COPY (SELECT a, b, c1, d, e, f, g, h FROM bench_km) TO STDOUT WITH (FORMAT csv)"],
                     capture_output=True, check=True).stdout
x = np.loadtxt(io.BytesIO(raw), delimiter=",")
start = time.perf_counter()
xs = StandardScaler().fit_transform(x)
KMeans(n_clusters=8, n_init=10, random_state=0).fit(xs)
print("TIME_MS", (time.perf_counter() - start) * 1000)

-- @baseline one Lloyd iteration in plain SQL (assign each point to its nearest centroid, average per cluster)
SELECT count(*), sum(n) FROM (
  SELECT nearest.cid, count(*) AS n, avg(p.a), avg(p.b), avg(p.c1), avg(p.d), avg(p.e), avg(p.f), avg(p.g), avg(p.h)
  FROM bench_km p
  CROSS JOIN LATERAL (SELECT c.cid FROM bench_km_centroids c
                      ORDER BY (p.a - c.a) ^ 2 + (p.b - c.b) ^ 2 + (p.c1 - c.c1) ^ 2 + (p.d - c.d) ^ 2
                             + (p.e - c.e) ^ 2 + (p.f - c.f) ^ 2 + (p.g - c.g) ^ 2 + (p.h - c.h) ^ 2
                      LIMIT 1) nearest
  GROUP BY nearest.cid) s;
