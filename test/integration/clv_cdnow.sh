#!/usr/bin/env bash
# CLV on the real CDNOW sample (2,357 customers; ../shared/data/cdnow, skipped
# when absent), all through SQL, against the published numbers
# (../shared/REFERENCES.md):
#  * crm.customer_summary as of 1997-09-30, in weeks, reproduces the published
#    summary file for every customer (x exact; t_x, T and zbar to its 2 decimals);
#  * crm.bgnbd_fit: r 0.243, alpha 4.414, a 0.793, b 2.426 within 0.001 and the
#    log-likelihood -9582.4 within 0.05 (an independent refit: -9582.4256);
#  * E[X(t)] at 1, 3, 32, 78 weeks within 5e-4 of Hardie's spreadsheet, and
#    E[Y(39) | 2, 30.43, 38.86] = 1.226 within 1e-3;
#  * crm.paretonbd_fit and crm.gammagamma_fit within 0.015 of lifetimes' fits;
#  * lifetimes' documented CLVs of customers 1-10 within 0.05 (see docs/clv.md:
#    lifetimes' documented figures step 30 units per "month", which with weeks is
#    time_unit => 'day' here);
#  * crm.clv_holdout over weeks 40-78: the total predicted repeat purchases
#    within 15% of the actual ones (a sanity check: 1,653 predicted against
#    1,882 purchase days when written; the paper plots them in its figure 3).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
DATA="$SHARED_DIR/data/cdnow/CDNOW_sample.txt"
SUMMARY="$SHARED_DIR/data/cdnow/cdnow_customers_summary_with_transactions.csv"
[ -f "$DATA" ] && [ -f "$SUMMARY" ] || skip "no CDNOW sample in $SHARED_DIR/data/cdnow"
fresh_database clv_cdnow
work="$(mktemp -d)"
chmod 755 "$work"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT

cdnow_sample_csv "$DATA" "$work/orders.csv"
tr -d '\r' <"$SUMMARY" | awk 'NR > 1' >"$work/summary.csv"
out="$(sql <<SQL
CREATE TABLE cdnow_orders (customer int, ordered date, dollars numeric);
\copy cdnow_orders FROM '$work/orders.csv' WITH (FORMAT csv)
CREATE TABLE published (id int, x int, t_x numeric, t numeric, zbar numeric);
\copy published FROM '$(printf '%s' "$work/summary.csv")' WITH (FORMAT csv)
CREATE TABLE ours AS
SELECT customer AS id, (crm.customer_summary(ordered, dollars::float8, date '1997-09-30')).* FROM cdnow_orders GROUP BY customer;
SELECT 'summary_rows=' || count(*) FROM ours o JOIN published p USING (id)
WHERE o.frequency = p.x AND round(o.recency::numeric, 2) = p.t_x AND round(o.age::numeric, 2) = p.t
  AND abs(o.monetary::numeric - p.zbar) <= 0.005 + 1e-9;
CREATE TABLE fits AS
SELECT crm.bgnbd_fit(frequency, recency, age) AS bg, crm.paretonbd_fit(frequency, recency, age) AS pn,
       crm.gammagamma_fit(frequency, monetary) AS gg FROM ours;
SELECT 'bgnbd=' || (abs((bg).r - 0.243) <= 0.001 AND abs((bg).alpha - 4.414) <= 0.001 AND abs((bg).a - 0.793) <= 0.001
                    AND abs((bg).b - 2.426) <= 0.001 AND abs((bg).log_likelihood - (-9582.4)) <= 0.05 AND (bg).converged)
       || ' ' || round((bg).r::numeric, 4) || ' ' || round((bg).alpha::numeric, 4) || ' ' || round((bg).a::numeric, 4)
       || ' ' || round((bg).b::numeric, 4) || ' LL ' || round((bg).log_likelihood::numeric, 4) FROM fits;
SELECT 'ex=' || bool_and(abs(crm.expected_purchases_new_customer(bg, t) - e) <= 5e-4)
FROM fits, unnest(ARRAY[1, 3, 32, 78], ARRAY[0.0532, 0.1506, 1.0437, 1.8576]) v(t, e);
SELECT 'ey39=' || (abs(crm.expected_purchases(bg, 2, 30.43, 38.86, 39) - 1.226) <= 1e-3) FROM fits;
SELECT 'paretonbd=' || (abs((pn).r - 0.553) <= 0.015 AND abs((pn).alpha - 10.578) <= 0.015 AND abs((pn).s - 0.606) <= 0.015
                        AND abs((pn).beta - 11.669) <= 0.015 AND (pn).converged)
       || ' ' || round((pn).r::numeric, 4) || ' ' || round((pn).alpha::numeric, 4) || ' ' || round((pn).s::numeric, 4)
       || ' ' || round((pn).beta::numeric, 4) FROM fits;
SELECT 'gammagamma=' || (abs((gg).p - 6.25) <= 0.015 AND abs((gg).q - 3.74) <= 0.015 AND abs((gg).gamma - 15.44) <= 0.015
                         AND (gg).converged)
       || ' ' || round((gg).p::numeric, 4) || ' ' || round((gg).q::numeric, 4) || ' ' || round((gg).gamma::numeric, 4) FROM fits;
SELECT 'clv=' || bool_and(abs(crm.clv(bg, gg, p.x, p.t_x, p.t, p.zbar, months => 12, discount_rate => 0.01,
                                      time_unit => 'day') - v.documented) <= 0.05)
FROM fits, published p JOIN unnest(ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  ARRAY[140.096, 18.943, 38.181, 38.181, 38.181, 1003.868, 28.110, 38.181, 167.418, 38.181]) v(id, documented) USING (id);
SELECT 'holdout=' || (abs(sum(predicted) - sum(actual)) / sum(actual) < 0.15 AND corr(predicted, actual) > 0.5)
       || ' predicted ' || round(sum(predicted)::numeric, 1) || ' actual ' || sum(actual)
       || ' corr ' || round(corr(predicted, actual)::numeric, 3)
FROM crm.clv_holdout('cdnow_orders', 'customer', 'ordered', 'dollars', '1997-09-30', '1998-06-30');
SQL
)"
echo "$out" | sed 's/^/    /'
check "the summary reproduces all 2,357 published customers" "summary_rows=2357" "$(echo "$out" | grep '^summary_rows=')"
check "BG/NBD parameters within 0.001 and the log-likelihood within 0.05 of the paper" "true" "$(echo "$out" | sed -n 's/^bgnbd=\([a-z]*\).*/\1/p')"
check "E[X(t)] at 1, 3, 32, 78 weeks within 5e-4 of Hardie's spreadsheet" "ex=true" "$(echo "$out" | grep '^ex=')"
check "E[Y(39) | 2, 30.43, 38.86] = 1.226 within 1e-3" "ey39=true" "$(echo "$out" | grep '^ey39=')"
check "Pareto/NBD within 0.015 of lifetimes' fit" "true" "$(echo "$out" | sed -n 's/^paretonbd=\([a-z]*\).*/\1/p')"
check "Gamma-Gamma within 0.015 of the paper and lifetimes" "true" "$(echo "$out" | sed -n 's/^gammagamma=\([a-z]*\).*/\1/p')"
check "lifetimes' documented CLVs of customers 1-10 within 0.05" "clv=true" "$(echo "$out" | grep '^clv=')"
check "holdout weeks 40-78: total predicted within 15% of actual (a sanity check, not a published figure), correlation above 0.5" "true" "$(echo "$out" | sed -n 's/^holdout=\([a-z]*\).*/\1/p')"
[ "$failures" -eq 0 ] || exit 1
