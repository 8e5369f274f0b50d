#!/usr/bin/env bash
# RFM on the real CDNOW transactions (as of 1998-07-01, frequency = transaction
# rows) against an independent computation with numpy: linear (type 7)
# quantiles and right-closed intervals. Every customer's recency, frequency,
# monetary and R/F/M scores must agree. Skips when the data is absent.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
DATA="$SHARED_DIR/data/cdnow/CDNOW_master.txt"
[ -f "$DATA" ] || skip "no $DATA"
"$PYTHON" -c "import numpy" 2>/dev/null || skip "numpy is not installed"
fresh_database cdnow_rfm
work="$(mktemp -d)"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT

# Whitespace-separated with CRLF and a header: to CSV.
tr -d '\r' <"$DATA" | awk 'NR > 1 && NF == 4 { printf "%s,%s-%s-%s,%s,%s\n", $1, substr($2,1,4), substr($2,5,2), substr($2,7,2), $3, $4 }' >"$work/cdnow.csv"
sql <<SQL
CREATE TABLE cdnow (customer_id int, purchased_on date, cds int, dollars numeric);
\copy cdnow FROM '$work/cdnow.csv' WITH (FORMAT csv)
\copy (SELECT customer_key, recency_days, frequency, monetary, r_score, f_score, m_score FROM crm.rfm_analyze('cdnow', 'customer_id', 'purchased_on', 'dollars', as_of => '1998-07-01') ORDER BY 1) TO '$work/ours.csv' WITH (FORMAT csv)
\copy (SELECT customer_key, r_score, f_score, m_score FROM crm.rfm_analyze('cdnow', 'customer_id', 'purchased_on', 'dollars', as_of => '1998-07-01', bins => 4, method => 'ntile') ORDER BY 1) TO '$work/ours_ntile.csv' WITH (FORMAT csv)
SQL

"$PYTHON" - "$DATA" "$work/ours.csv" "$work/ours_ntile.csv" <<'PY'
import sys, datetime
import numpy as np

rows = [l.split() for l in open(sys.argv[1]).read().replace('\r', '').splitlines()[1:] if l.strip()]
as_of = datetime.date(1998, 7, 1)
last, freq, money = {}, {}, {}
for cid, day, _, dollars in rows:
    cid = int(cid)
    d = datetime.date(int(day[:4]), int(day[4:6]), int(day[6:]))
    last[cid] = max(last.get(cid, d), d)
    freq[cid] = freq.get(cid, 0) + 1
    money[cid] = money.get(cid, 0.0) + float(dollars)
ids = np.array(sorted(last))
r = np.array([(as_of - last[c]).days for c in ids], dtype=float)
f = np.array([freq[c] for c in ids], dtype=float)
m = np.array([money[c] for c in ids], dtype=float)

def scores(x, bins=5):
    cuts = np.quantile(x, [j / bins for j in range(1, bins)])   # linear = type 7
    return 1 + np.searchsorted(cuts, x, side='left')             # right-closed intervals

ref = np.column_stack([ids, r, f, m, 6 - scores(r), scores(f), scores(m)])
ours = np.loadtxt(sys.argv[2], delimiter=',')
assert ours.shape == ref.shape, f"customers: ours {ours.shape[0]}, numpy {ref.shape[0]}"
bad_values = np.sum((ours[:, 0] != ref[:, 0]) | (ours[:, 1] != ref[:, 1]) | (ours[:, 2] != ref[:, 2])
                    | (np.abs(ours[:, 3] - ref[:, 3]) > 1e-6))
bad_scores = np.sum(np.any(ours[:, 4:7] != ref[:, 4:7], axis=1))

# NTILE(4) with ties ordered by the key (ids are sorted, so a stable sort keeps key order).
def ntile(order, bins):
    n = len(order); out = np.empty(n, dtype=int); per, extra = divmod(n, bins); pos = 0
    for t in range(1, bins + 1):
        size = per + (1 if t <= extra else 0)
        out[order[pos:pos + size]] = t; pos += size
    return out
nt = np.column_stack([ntile(np.argsort(-r, kind='stable'), 4), ntile(np.argsort(f, kind='stable'), 4),
                      ntile(np.argsort(m, kind='stable'), 4)])
ours_nt = np.loadtxt(sys.argv[3], delimiter=',')
bad_ntile = np.sum(np.any(ours_nt[:, 1:4] != nt, axis=1))

print(f"  CDNOW: {len(ids)} customers, {len(rows)} transactions; mismatches: values {bad_values}, "
      f"quantile scores {bad_scores}, ntile scores {bad_ntile}")
sys.exit(0 if bad_values == 0 and bad_scores == 0 and bad_ntile == 0 else 1)
PY
