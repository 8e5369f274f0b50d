#!/usr/bin/env bash
# Command 1: the showcase. Installs what is missing, builds and installs the
# extension, starts a throwaway cluster, generates the sample retail data,
# runs the analyses and prints the results, then stops the cluster.
#
#   scripts/showcase.sh [--scale N] [--seed N]
#
# scale 1 = 2,000 customers and about 20,000 orders.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/cluster.sh"

SCALE=1
SEED=42
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[[ "$SCALE" =~ ^[0-9]+$ && "$SCALE" -ge 1 ]] || { echo "--scale must be a positive integer" >&2; exit 2; }
[[ "$SEED" =~ ^[0-9]+$ ]] || { echo "--seed must be a non-negative integer" >&2; exit 2; }

install_missing_packages
build_and_install_extension
cluster_start

log "generating sample data (scale $SCALE, seed $SEED)"
psql_quiet -v scale="$SCALE" -v seed="$SEED" -f "$REPO_ROOT/scripts/sample_data.sql"
psql_quiet -c "CREATE EXTENSION crm_analytics"

log "running the showcase"
"$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -P pager=off -f "$REPO_ROOT/scripts/showcase.sql"
log "done; the throwaway cluster is stopped and removed"
