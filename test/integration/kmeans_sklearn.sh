#!/usr/bin/env bash
# k-means inertia against scikit-learn's KMeans (best of n_init = 10) on the
# same standardised data: ours must be within 1% (lower is fine). Two data
# sets: generated blobs (100k x 8, k = 8) and, when ../shared/data is there,
# the RFM features of the 23,570 CDNOW customers (k = 5). Skips without sklearn.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
"$PYTHON" -c "import sklearn" 2>/dev/null || skip "python3-sklearn is not installed"
fresh_database kmeans_sklearn
work="$(mktemp -d)"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT

"$PYTHON" - "$work/blobs.csv" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(11)
centres = rng.uniform(-10, 10, size=(8, 8))
labels = rng.integers(0, 8, size=100000)
x = centres[labels] + rng.normal(0, 2.5, size=(100000, 8))
np.savetxt(sys.argv[1], x, delimiter=",", fmt="%.10g")
PY
sql -c "CREATE TABLE blobs (a float8, b float8, c float8, d float8, e float8, f float8, g float8, h float8)" \
    -c "\\copy blobs FROM '$work/blobs.csv' WITH (FORMAT csv)"
ours_blobs=$(sql -c "SELECT (crm.kmeans_info(crm.kmeans_fit(ARRAY[a, b, c, d, e, f, g, h], crm.kmeans_options(8, seed => 1, n_init => 10)))).inertia FROM blobs")

cdnow="$SHARED_DIR/data/cdnow/CDNOW_master.txt"
ours_cdnow=""
if [ -f "$cdnow" ]; then
  tr -d '\r' <"$cdnow" | awk 'NR > 1 && NF == 4 { printf "%s,%s-%s-%s,%s\n", $1, substr($2,1,4), substr($2,5,2), substr($2,7,2), $4 }' >"$work/cdnow.csv"
  sql -c "CREATE TABLE cdnow (customer_id int, purchased_on date, dollars numeric)" \
      -c "\\copy cdnow FROM '$work/cdnow.csv' WITH (FORMAT csv)" \
      -c "CREATE TABLE cdnow_rfm AS SELECT recency_days::float8 AS r, frequency::float8 AS f, monetary AS m FROM crm.rfm_analyze('cdnow', 'customer_id', 'purchased_on', 'dollars', as_of => '1998-07-01')" \
      -c "\\copy cdnow_rfm TO '$work/cdnow_rfm.csv' WITH (FORMAT csv)"
  ours_cdnow=$(sql -c "SELECT (crm.kmeans_info(crm.kmeans_fit(ARRAY[r, f, m], crm.kmeans_options(5, seed => 1, n_init => 10)))).inertia FROM cdnow_rfm")
fi

"$PYTHON" - "$work" "$ours_blobs" "$ours_cdnow" <<'PY'
import os, sys
import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
work, ours_blobs, ours_cdnow = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ok = True
def compare(name, path, k, ours):
    global ok
    x = StandardScaler().fit_transform(np.loadtxt(path, delimiter=","))   # population std, like scale => 'zscore'
    ref = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x).inertia_
    ratio = ours / ref
    print(f"  {name}: ours {ours:.6f}, scikit-learn {ref:.6f}, ratio {ratio:.5f}")
    ok = ok and ratio <= 1.01
compare("blobs 100k x 8, k=8", os.path.join(work, "blobs.csv"), 8, ours_blobs)
if ours_cdnow:
    compare("CDNOW RFM 23,570 x 3, k=5", os.path.join(work, "cdnow_rfm.csv"), 5, float(ours_cdnow))
else:
    print("  CDNOW data absent: that comparison skipped")
sys.exit(0 if ok else 1)
PY
