#!/usr/bin/env bash
# crm.campaign_uplift against scipy.stats on generated campaigns: Welch p-value
# and degrees of freedom equal scipy's to 1e-9, and the interval equals the one
# built from the exact t quantile (mpmath, 40 digits) to 1e-9. (scipy 1.10's
# own t.ppf is off by about 1e-9 relative, so its interval is checked to 1e-8.)
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
"$PYTHON" -c "import scipy, mpmath" 2>/dev/null || skip "python3-scipy or python3-mpmath is not installed"
fresh_database campaign_scipy
work="$(mktemp -d)"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT

sql <<SQL
SELECT setseed(0.42);
CREATE TABLE results AS
SELECT c AS campaign, random() < 0.3 + c * 0.05 AS treated,
       round((40 + c * 3 + 25 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()))::numeric, 2)::float8 AS revenue
FROM generate_series(1, 8) c, generate_series(1, 40 + c * 60) i;
\copy (SELECT campaign, treated, revenue FROM results ORDER BY 1) TO '$work/rows.csv' WITH (FORMAT csv)
\copy (SELECT campaign, (u).uplift, (u).ci_low, (u).ci_high, (u).p_value FROM (SELECT campaign, crm.campaign_uplift(treated, revenue) u FROM results GROUP BY 1) s ORDER BY 1) TO '$work/ours.csv' WITH (FORMAT csv)
SQL

"$PYTHON" - "$work/rows.csv" "$work/ours.csv" <<'PY'
import csv, sys
import mpmath
import numpy as np
from scipy import stats
mpmath.mp.dps = 40
rows = {}
for c, t, r in csv.reader(open(sys.argv[1])):
    rows.setdefault(int(c), {True: [], False: []})[t == 't'].append(float(r))
worst = {"p": 0.0, "ci_exact": 0.0, "ci_scipy": 0.0}
for c, uplift, lo, hi, p in csv.reader(open(sys.argv[2])):
    t = np.array(rows[int(c)][True]); k = np.array(rows[int(c)][False])
    res = stats.ttest_ind(t, k, equal_var=False)
    a, b = t.var(ddof=1) / len(t), k.var(ddof=1) / len(k)
    se, u = np.sqrt(a + b), t.mean() - k.mean()
    df = (a + b) ** 2 / (a * a / (len(t) - 1) + b * b / (len(k) - 1))
    q_scipy = stats.t.ppf(0.975, df)
    f = lambda x: mpmath.betainc(df / 2, 0.5, 0, df / (df + x * x), regularized=True) / 2 - 0.025
    q_exact = float(mpmath.findroot(f, q_scipy))
    worst["p"] = max(worst["p"], abs(float(p) - res.pvalue))
    worst["ci_exact"] = max(worst["ci_exact"], abs(float(lo) - (u - q_exact * se)), abs(float(hi) - (u + q_exact * se)))
    worst["ci_scipy"] = max(worst["ci_scipy"], abs(float(lo) - (u - q_scipy * se)), abs(float(hi) - (u + q_scipy * se)))
    assert abs(float(uplift) - u) < 1e-9, (c, uplift, u)
print("  8 campaigns; largest differences: p-value vs scipy %.1e, interval vs exact %.1e, interval vs scipy %.1e"
      % (worst["p"], worst["ci_exact"], worst["ci_scipy"]))
sys.exit(0 if worst["p"] <= 1e-9 and worst["ci_exact"] <= 1e-9 and worst["ci_scipy"] <= 1e-8 else 1)
PY
