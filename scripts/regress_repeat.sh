#!/usr/bin/env bash
# Flakiness check (by hand, not part of the test command): runs the regression
# suite N times in a row (default 20) against the running server
# (PGHOST/PGPORT/PGUSER) while another process keeps one core busy, and
# reports how many runs failed. A test that depends on timing, row order or
# the plan shows up here.
#   scripts/regress_repeat.sh [N]
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
runs="${1:-20}"
busy() { while :; do :; done; }
busy &
burner=$!
trap 'kill "$burner" 2>/dev/null || true' EXIT
failed=0
for i in $(seq 1 "$runs"); do
  if make -C "$REPO_ROOT" -s installcheck >/tmp/crm_regress_repeat.log 2>&1; then
    echo "run $i: ok"
  else
    failed=$((failed + 1))
    echo "run $i: FAILED"; grep -E 'FAILED|failed' /tmp/crm_regress_repeat.log || true
    cp "$REPO_ROOT/regression.diffs" "/tmp/crm_regress_repeat_$i.diffs" 2>/dev/null || true
  fi
done
echo "$runs runs with one core kept busy: $failed failed"
[ "$failed" -eq 0 ]
