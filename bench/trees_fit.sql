-- A depth-8 decision tree on 1M rows x 10 features (#19: at least as fast as scikit-learn on the same data
-- already in memory; ours reads the table). The label depends on three features through thresholds and an
-- interaction, with 10% label noise. The setup also makes the tables of trees_forest.sql and
-- trees_predict.sql.

-- @setup
CREATE TABLE IF NOT EXISTS bench_tree AS
SELECT g, ARRAY[(abs(hashint4(g)) % 1000) / 10.0, (abs(hashint4(g + 1)) % 1000) / 10.0, (abs(hashint4(g + 2)) % 1000) / 10.0,
             (abs(hashint4(g + 3)) % 1000) / 10.0, (abs(hashint4(g + 4)) % 1000) / 10.0, (abs(hashint4(g + 5)) % 1000) / 10.0,
             (abs(hashint4(g + 6)) % 1000) / 10.0, (abs(hashint4(g + 7)) % 1000) / 10.0, (abs(hashint4(g + 8)) % 1000) / 10.0,
             (abs(hashint4(g + 9)) % 1000) / 10.0]::float8[] AS f,
       ((abs(hashint4(g)) % 1000 > 600 AND abs(hashint4(g + 1)) % 1000 < 700) OR abs(hashint4(g + 2)) % 1000 < 150)
         <> (abs(hashint4(g + 99)) % 10 = 0) AS y
FROM generate_series(1, 1000000) g;
VACUUM ANALYZE bench_tree;
DROP TABLE IF EXISTS bench_tree_model;
CREATE TABLE bench_tree_model AS SELECT crm.tree_fit(f, y, crm.tree_options(max_depth => 8)) AS m FROM bench_tree;

-- @ours crm.tree_fit, depth 8, 1M rows x 10 features (reading the table)
SELECT (crm.tree_info(crm.tree_fit(f, y, crm.tree_options(max_depth => 8)))).leaves FROM bench_tree;

-- @python scikit-learn DecisionTreeClassifier(max_depth = 8) on the same data already in memory
import io, subprocess, time
import numpy as np
from sklearn.tree import DecisionTreeClassifier
raw = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-At", "-c",
                      "COPY (SELECT f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], y::int FROM bench_tree) TO STDOUT WITH (FORMAT csv)"],
                     capture_output=True, check=True).stdout
data = np.loadtxt(io.BytesIO(raw), delimiter=",")
x, y = data[:, :10], data[:, 10].astype(bool)
start = time.perf_counter()
DecisionTreeClassifier(max_depth=8, random_state=0).fit(x, y)
print("TIME_MS", (time.perf_counter() - start) * 1000)

