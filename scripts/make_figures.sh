#!/usr/bin/env bash
# Regenerates the figures under docs/ from the sample data, through SQL.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/cluster.sh"
install_missing_packages python3-matplotlib
build_and_install_extension
cluster_start
psql_quiet -v scale=1 -v seed=42 -f "$REPO_ROOT/scripts/sample_data.sql"
psql_quiet -c "CREATE EXTENSION crm_analytics"
/usr/bin/python3 "$REPO_ROOT/scripts/plot_cold_chain.py" "$REPO_ROOT/docs/cold_chain_curve.png"
/usr/bin/python3 "$REPO_ROOT/scripts/plot_tour.py" "$REPO_ROOT/docs"
/usr/bin/python3 "$REPO_ROOT/scripts/plot_clv_holdout.py" "$REPO_ROOT/docs/clv_holdout.png"
/usr/bin/python3 "$REPO_ROOT/scripts/plot_cohort_heatmap.py" "$REPO_ROOT/docs/cohort_retention.png"
log "wrote docs/cold_chain_curve.png, docs/segments.png, docs/clusters.png, docs/clv_holdout.png, docs/cohort_retention.png"
