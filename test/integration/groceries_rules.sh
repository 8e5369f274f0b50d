#!/usr/bin/env bash
# Association rules on the Groceries baskets (../shared/data/groceries, skipped
# when absent), through SQL: crm.association_rules_typed at support 0.001 and
# confidence 0.8 must give exactly the 410 rules of R arules' apriori
# (arules_rules_s0.001_c0.8.csv): the same rule set, identical counts, and
# support, confidence, coverage and lift equal to 1e-12.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
DATA="$SHARED_DIR/data/groceries/groceries.csv"
REFERENCE="$SHARED_DIR/data/groceries/arules_rules_s0.001_c0.8.csv"
[ -f "$DATA" ] && [ -f "$REFERENCE" ] || skip "no Groceries data in $SHARED_DIR/data/groceries"
fresh_database groceries_rules
work="$(mktemp -d)"
chmod 755 "$work"
trap 'rm -rf "$work"; "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT

# One (basket, item) row per item; labels are byte-exact (some end in a blank).
"$PYTHON" - "$DATA" "$work/lines.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline='') as f, open(sys.argv[2], 'w', newline='') as out:
    w = csv.writer(out)
    for basket, line in enumerate(f.read().split('\n')):
        if line == '':
            continue
        for item in line.split(','):
            w.writerow([basket + 1, item])
PY
sql <<SQL
CREATE TABLE grocery_lines (basket int, item text);
\copy grocery_lines FROM '$work/lines.csv' WITH (FORMAT csv)
\copy (SELECT array_to_string(antecedent, '|'), array_to_string(consequent, '|'), support, confidence, coverage, lift, count FROM crm.association_rules_typed('grocery_lines', 'basket', 'item', 0.001, NULL::text, min_confidence => 0.8)) TO '$work/ours.csv' WITH (FORMAT csv)
SQL
"$PYTHON" - "$REFERENCE" "$work/ours.csv" <<'PY'
import csv, sys
def load(path, header):
    rules = {}
    with open(path, newline='') as f:
        reader = csv.reader(f)
        if header:
            next(reader)
        for lhs, rhs, support, confidence, coverage, lift, count in reader:
            key = (frozenset(lhs.split('|')) if lhs else frozenset(), rhs)
            assert key not in rules, key
            rules[key] = (float(support), float(confidence), float(coverage), float(lift), int(count))
    return rules
reference, ours = load(sys.argv[1], True), load(sys.argv[2], False)
missing, extra = set(reference) - set(ours), set(ours) - set(reference)
worst = max(max(abs(a - b) for a, b in zip(reference[k][:4], ours[k][:4])) for k in set(reference) & set(ours))
counts = sum(reference[k][4] != ours[k][4] for k in set(reference) & set(ours))
print("  reference %d rules, ours %d; missing %d, extra %d; count mismatches %d; largest measure difference %.2e"
      % (len(reference), len(ours), len(missing), len(extra), counts, worst))
ok = len(reference) == 410 and not missing and not extra and counts == 0 and worst <= 1e-12
print("  ok: the 410 rules of arules, identical" if ok else "  FAILED: the rule sets differ")
sys.exit(0 if ok else 1)
PY
