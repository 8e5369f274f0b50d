#!/usr/bin/env bash
# Manual check (slow, not part of the test command): the regression suite with
# every backend under valgrind memcheck. Reports the errors whose stack goes
# through crm_analytics.so (PostgreSQL itself, built without valgrind support,
# reports some noise of its own, which is counted separately).
#
#   scripts/valgrind_check.sh            # prints a summary; logs kept in /tmp/crm-valgrind
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/cluster.sh"
install_missing_packages valgrind
build_and_install_extension
LOGS=/tmp/crm-valgrind
rm -rf "$LOGS"; mkdir -p "$LOGS"; chmod 777 "$LOGS"

CLUSTER_DIR="$(mktemp -d /tmp/crmvg.XXXXXX)"
trap cluster_stop EXIT
[ "$(id -u)" -eq 0 ] && chown postgres: "$CLUSTER_DIR"
(cd "$CLUSTER_DIR" && as_pg_user "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -A trust -U postgres --no-sync >/dev/null)
printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = %s\nfsync = off\nmax_parallel_workers_per_gather = 0\nstatement_timeout = 0\n" \
       "$CLUSTER_DIR" "$CLUSTER_PORT" >>"$CLUSTER_DIR/data/postgresql.conf"
log "starting PostgreSQL under valgrind (slow)"
(cd "$CLUSTER_DIR" && as_pg_user bash -c "valgrind --quiet --trace-children=yes --track-origins=no --leak-check=no \
   --error-limit=no --num-callers=30 --log-file=$LOGS/vg.%p.log \
   $PG_BIN/postgres -D $CLUSTER_DIR/data >$CLUSTER_DIR/server.log 2>&1 &")
export PGHOST="$CLUSTER_DIR" PGPORT="$CLUSTER_PORT" PGUSER=postgres
for _ in $(seq 1 120); do "$PG_BIN/pg_isready" -q && break; sleep 1; done
log "running the regression suite"
make -C "$REPO_ROOT" -s installcheck 2>&1 | grep -E '^(test| )' || true
"$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w -t 120 stop >/dev/null 2>&1 || true
ours=$( (grep -l "crm_analytics.so" "$LOGS"/vg.*.log 2>/dev/null || true) | wc -l)
errors=$(cat "$LOGS"/vg.*.log 2>/dev/null | grep -c "^==[0-9]*== [A-Z].*\(Invalid\|uninitialised\|Mismatched\|overlap\)" || true)
echo "valgrind: $(ls "$LOGS" | wc -l) processes traced; error reports in all: $errors; logs mentioning crm_analytics.so: $ours"
[ "$ours" -eq 0 ] || grep -l "crm_analytics.so" "$LOGS"/vg.*.log | head -3 | xargs -r head -60
