-- A 100-tree random forest on 200k rows x 10 features of bench_tree (made by bench/trees_fit.sql's setup,
-- which runs first), min_samples_leaf 20, max_features sqrt, bootstrap, against scikit-learn's
-- RandomForestClassifier with n_jobs = 2 on the same rows in memory (#19: no slower). Ours fits on two
-- threads inside the one call.

-- @ours crm.tree_fit forest, 100 trees, 200k rows, min_samples_leaf 20 (two threads)
SELECT (crm.tree_info(crm.tree_fit(f, y, crm.tree_options(n_trees => 100, min_samples_leaf => 20, seed => 1)))).trees
FROM bench_tree WHERE g <= 200000;

-- @python scikit-learn RandomForestClassifier(100 trees, min_samples_leaf 20, n_jobs = 2), same 200k rows in memory
import io, subprocess, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier
raw = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-At", "-c",
                      "COPY (SELECT f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], y::int FROM bench_tree WHERE g <= 200000) TO STDOUT WITH (FORMAT csv)"],
                     capture_output=True, check=True).stdout
data = np.loadtxt(io.BytesIO(raw), delimiter=",")
x, y = data[:, :10], data[:, 10].astype(bool)
start = time.perf_counter()
RandomForestClassifier(n_estimators=100, min_samples_leaf=20, max_features="sqrt", n_jobs=2, random_state=1).fit(x, y)
print("TIME_MS", (time.perf_counter() - start) * 1000)

