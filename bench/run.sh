#!/usr/bin/env bash
# Runs the benchmarks in one process run against one throwaway cluster and
# prints a table: our time, each baseline's time and the ratio.
#
#   bench/run.sh [--scale N] [--repeat N] [benchmark ...]
#
# Default scale 250: 500k customers, about 5M orders. Benchmarks are the
# bench/*.sql files (all by default).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
source "$REPO_ROOT/scripts/lib/cluster.sh"

SCALE=250
REPEAT=3
NAMES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    *) NAMES+=("$1"); shift ;;
  esac
done
FILES=()
if [ "${#NAMES[@]}" -eq 0 ]; then
  for f in "$REPO_ROOT"/bench/*.sql; do FILES+=("$f"); done
else
  for n in "${NAMES[@]}"; do FILES+=("$REPO_ROOT/bench/$n.sql"); done
fi

install_missing_packages
build_and_install_extension
cluster_start "max_parallel_workers_per_gather = 2" "jit = off"
log "generating benchmark data (scale $SCALE)"
psql_quiet -v scale="$SCALE" -v seed=42 -f "$REPO_ROOT/scripts/sample_data.sql"
psql_quiet -c "CREATE EXTENSION crm_analytics" -c "VACUUM ANALYZE"
log "running: ${FILES[*]##*/}"
cd "$REPO_ROOT"   # bench/cf.sql reads ../shared/data relative to the checkout
"${CRM_PYTHON:-/usr/bin/python3}" "$REPO_ROOT/bench/harness.py" --repeat "$REPEAT" "${FILES[@]}"
log "cf_recommend latency under pgbench"
bash "$REPO_ROOT/bench/cf_latency.sh"
log "item-kNN similar-items and top-N latency under pgbench"
bash "$REPO_ROOT/bench/reco_latency.sh"
log "three postgres_fdw shards against one node"
bash "$REPO_ROOT/bench/shards.sh"
