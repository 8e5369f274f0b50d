#!/usr/bin/env bash
# KPIs on the real CDNOW transactions (../shared/data/cdnow/CDNOW_master.txt,
# 69,659 orders of 23,570 customers, 1997-01-01 to 1998-06-30; skipped when
# absent or when pandas is missing) against an independent computation with
# pandas that reads the raw file itself:
#  * the load: 69,659 orders, 23,570 customers and $2,500,315.63 as documented
#    in ../shared/data/cdnow/README.md;
#  * crm.cohort_retention(..., 'month'): the whole matrix (3 monthly cohorts
#    times every month up to 1998-06: 51 rows) row for row: the same
#    (cohort, period_number) keys, customers and active equal, retention and
#    revenue_retention within 1e-9, revenue within 0.005;
#  * crm.customer_rates with the inactivity rule over [1997-04-01, 1997-07-01)
#    and [1997-07-01, 1998-01-01) with 90 days and [1998-01-01, 1998-07-01) with
#    180 days: every count equal and every rate within 1e-12 (NULL where the
#    denominator is 0). The file holds only the customers who first bought in
#    1997-Q1, so new_customers is 0 in all three windows (and everyone is
#    alive at 1997-04-01). The churn_model branch is not tested here.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
DATA="$SHARED_DIR/data/cdnow/CDNOW_master.txt"
[ -f "$DATA" ] || skip "no $DATA"
"$PYTHON" -c "import pandas" 2>/dev/null || skip "python3-pandas is not installed"
fresh_database kpis_cdnow
work="$(mktemp -d)"
chmod 755 "$work"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT

# Whitespace-separated with CRLF and a header: to CSV (customer, date, dollars).
cdnow_master_csv "$DATA" "$work/orders.csv"
out="$(sql <<SQL
CREATE TABLE cdnow_orders (customer int, ordered date, dollars numeric);
\copy cdnow_orders FROM '$work/orders.csv' WITH (FORMAT csv)
SELECT 'load=' || count(*) || ' ' || count(DISTINCT customer) || ' ' || sum(dollars) FROM cdnow_orders;
\copy (SELECT cohort, period_number, customers, active, retention, revenue, revenue_retention FROM crm.cohort_retention('cdnow_orders', 'customer', 'ordered', 'dollars', 'month')) TO '$work/cohorts.csv' WITH (FORMAT csv, HEADER)
SQL
)"
echo "$out" | sed 's/^/    /'
check "loaded 69,659 orders of 23,570 customers worth \$2,500,315.63" "load=69659 23570 2500315.63" "$(echo "$out" | grep '^load=')"

# crm.customer_rates, in its own psql run so that an error there (say, the
# function missing from an older build) still lets the cohort checks report.
rates_ok=true
sql >"$work/rates.log" 2>&1 <<SQL || rates_ok=false
\copy (SELECT w.window_start, w.window_end, w.inactivity, r.* FROM (VALUES (date '1997-04-01', date '1997-07-01', interval '90 days'), (date '1997-07-01', date '1998-01-01', interval '90 days'), (date '1998-01-01', date '1998-07-01', interval '180 days')) w(window_start, window_end, inactivity) CROSS JOIN LATERAL crm.customer_rates('cdnow_orders', 'customer', 'ordered', w.window_start, w.window_end, w.inactivity) r ORDER BY w.window_start) TO '$work/rates.csv' WITH (FORMAT csv, HEADER)
SQL
[ "$rates_ok" = true ] || rm -f "$work/rates.csv"

res="$("$PYTHON" - "$DATA" "$work/cohorts.csv" "$work/rates.csv" <<'PY'
import os, sys
from decimal import Decimal
import pandas as pd

# The raw file, read independently of the SQL load.
df = pd.read_csv(sys.argv[1], sep=r"\s+", dtype={"customer_id": "int64", "date": str, "dollar_value": str})
df = pd.DataFrame({"customer": df["customer_id"], "date": pd.to_datetime(df["date"], format="%Y%m%d"),
                   "dollars": df["dollar_value"].map(Decimal)})

# (a) Monthly cohorts: month index = 12 * year + month - 1.
df["m"] = df["date"].dt.year * 12 + df["date"].dt.month - 1
df["cohort"] = df.groupby("customer")["m"].transform("min")
sizes = df.groupby("cohort")["customer"].nunique()
active = df.groupby(["cohort", "m"])["customer"].nunique()
revenue = df.groupby(["cohort", "m"])["dollars"].agg(lambda s: sum(s, Decimal(0)))
last = df["m"].max()
expected = {}
for c, n in sizes.items():
    rev0 = revenue.get((c, c), Decimal(0))
    for m in range(c, last + 1):
        a, r = int(active.get((c, m), 0)), revenue.get((c, m), Decimal(0))
        key = ("%04d-%02d-01" % (c // 12, c % 12 + 1), m - c)
        expected[key] = (int(n), a, a / int(n), r, float(r) / float(rev0) if rev0 != 0 else None)

ours = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
got = {}
for row in ours.itertuples(index=False):
    got[(row.cohort, int(row.period_number))] = (
        int(row.customers), int(row.active), float(row.retention), Decimal(row.revenue),
        float(row.revenue_retention) if row.revenue_retention != "" else None)
bad, worst_ret, worst_rev = [], 0.0, Decimal(0)
for key in sorted(set(expected) | set(got)):
    e, g = expected.get(key), got.get(key)
    if e is None or g is None:
        bad.append("%s/%d %s" % (key[0], key[1], "unexpected" if e is None else "missing"))
        continue
    worst_ret = max(worst_ret, abs(e[2] - g[2]))
    worst_rev = max(worst_rev, abs(e[3] - g[3]))
    rr_ok = (e[4] is None) == (g[4] is None) and (e[4] is None or abs(e[4] - g[4]) <= 1e-9)
    if e[0] != g[0] or e[1] != g[1] or abs(e[2] - g[2]) > 1e-9 or abs(e[3] - g[3]) > Decimal("0.005") or not rr_ok:
        bad.append("%s/%d expected %s got %s" % (key[0], key[1], " ".join(map(str, e)), " ".join(map(str, g))))
print("cohort_rows=%d/%d" % (len(got), len(expected)))
print("cohort_match=%s %d of %d rows match; worst retention %.1e, revenue %s%s"
      % (str(not bad).lower(), len(expected) - len(bad), len(expected), worst_ret, worst_rev,
         ("; first mismatches: " + "; ".join(bad[:3])) if bad else ""))

# (b) Rates with the inactivity rule; windows are half-open [start, end).
if os.path.exists(sys.argv[3]):
    def alive(day, inactivity):
        before = df[df["date"] < day].groupby("customer")["date"].max()
        return set(before[before >= day - inactivity].index)

    first = df.groupby("customer")["date"].min()
    rates = pd.read_csv(sys.argv[3], dtype=str, keep_default_na=False)
    counts = ["customers_at_start", "active_customers", "new_customers", "repeat_customers", "retained", "churned"]
    fractions = ["repeat_purchase_rate", "retention_rate", "churn_rate"]
    missing = [c for c in counts + fractions if c not in rates.columns]
    if missing:
        print("rates_columns=missing " + ",".join(missing))
        sys.exit(0)
    print("rates_columns=ok")
    for row in rates.to_dict("records"):
        start, end = pd.Timestamp(row["window_start"]), pd.Timestamp(row["window_end"])
        inactivity = pd.Timedelta(row["inactivity"])
        window = df[(df["date"] >= start) & (df["date"] < end)]
        per_customer = window.groupby("customer").size()
        at_start, at_end = alive(start, inactivity), alive(end, inactivity)
        e = {"active_customers": len(per_customer),
             "new_customers": int(((first >= start) & (first < end)).sum()),
             "repeat_customers": int((per_customer >= 2).sum()),
             "customers_at_start": len(at_start), "retained": len(at_start & at_end)}
        e["churned"] = e["customers_at_start"] - e["retained"]
        div = lambda a, b: a / b if b else None
        e["repeat_purchase_rate"] = div(e["repeat_customers"], e["active_customers"])
        e["retention_rate"] = div(e["retained"], e["customers_at_start"])
        e["churn_rate"] = div(e["churned"], e["customers_at_start"])
        bad = [c for c in counts if row[c] == "" or int(row[c]) != e[c]]
        for c in fractions:
            g = float(row[c]) if row[c] != "" else None
            if (g is None) != (e[c] is None) or (g is not None and abs(g - e[c]) > 1e-12):
                bad.append(c)
        detail = " ".join("%s %s" % (c, e[c] if c in counts else ("NULL" if e[c] is None else "%.6f" % e[c]))
                          for c in counts + fractions)
        print("rates_%s=%s %s%s" % (row["window_start"], str(not bad).lower(), detail,
                                    ("; differs: " + ", ".join("%s got %s" % (c, row[c] or "NULL") for c in bad)) if bad else ""))
PY
)" || { echo "  FAILED: the pandas computation stopped with an error (above)"; failures=$((failures + 1)); }
echo "$res" | sed 's/^/    /'
check "crm.cohort_retention: as many rows as the independent matrix (3 cohorts to 1998-06)" "cohort_rows=51/51" "$(echo "$res" | grep '^cohort_rows=')"
check "crm.cohort_retention: every row matches (counts equal, retention and revenue retention within 1e-9, revenue within 0.005)" "true" "$(echo "$res" | sed -n 's/^cohort_match=\([a-z]*\).*/\1/p')"
check "crm.customer_rates runs on the three windows" "no error" \
  "$([ "$rates_ok" = true ] && echo "no error" || grep -m1 'ERROR' "$work/rates.log" || head -1 "$work/rates.log")"
if [ "$rates_ok" = true ]; then
  check "crm.customer_rates returns every documented column" "rates_columns=ok" "$(echo "$res" | grep '^rates_columns=')"
  for w in 1997-04-01 1997-07-01 1998-01-01; do
    check "crm.customer_rates over the window from $w: counts equal, rates within 1e-12" "true" "$(echo "$res" | sed -n "s/^rates_$w=\([a-z]*\).*/\1/p")"
  done
fi
[ "$failures" -eq 0 ] || exit 1
