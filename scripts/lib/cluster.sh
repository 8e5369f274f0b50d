# A throwaway PostgreSQL cluster: unprivileged user, temp dir, private port,
# unix socket only, stopped and removed on exit. Sourced after common.sh.
#
#   cluster_start [name]   starts a cluster and exports PGHOST, PGPORT, PGUSER
#   cluster_stop           stops it (also runs from the EXIT trap)

CLUSTER_DIR=""
CLUSTER_PORT="${CRM_PG_PORT:-54329}"

# PostgreSQL refuses to run as root: as root, run server binaries as 'postgres'.
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cluster_stop() {
  [ -n "$CLUSTER_DIR" ] || return 0
  if [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
    (cd "$CLUSTER_DIR" && as_pg_user "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1) ||
      (cd "$CLUSTER_DIR" && as_pg_user "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  if [ -n "${CRM_KEEP_LOG:-}" ] && [ -f "$CLUSTER_DIR/server.log" ]; then
    cp "$CLUSTER_DIR/server.log" "$CRM_KEEP_LOG" 2>/dev/null || true
  fi
  rm -rf "$CLUSTER_DIR"
  CLUSTER_DIR=""
}

# Extra postgresql.conf lines can be passed as arguments.
cluster_start() {
  # Short path: unix socket paths are limited to about 107 bytes.
  CLUSTER_DIR="$(mktemp -d /tmp/crmpg.XXXXXX)"
  trap cluster_stop EXIT
  trap 'exit 130' INT TERM
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$CLUSTER_DIR"; fi
  chmod 700 "$CLUSTER_DIR"
  log "starting a throwaway cluster in $CLUSTER_DIR (port $CLUSTER_PORT, unix socket only)"
  (cd "$CLUSTER_DIR" && as_pg_user "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -A trust -U postgres \
      --no-sync -E UTF8 --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1) || {
    cat "$CLUSTER_DIR/initdb.log" >&2; return 1; }
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$CLUSTER_DIR'"
    echo "port = $CLUSTER_PORT"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "shared_buffers = '512MB'"
    echo "work_mem = '64MB'"
    echo "maintenance_work_mem = '256MB'"
    echo "max_wal_size = '4GB'"
    echo "logging_collector = off"
    echo "log_min_messages = warning"
    local line
    for line in "$@"; do echo "$line"; done
  } >>"$CLUSTER_DIR/data/postgresql.conf"
  (cd "$CLUSTER_DIR" && as_pg_user "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" \
      -w -t 60 start >/dev/null) || { cat "$CLUSTER_DIR/server.log" >&2; return 1; }
  export PGHOST="$CLUSTER_DIR" PGPORT="$CLUSTER_PORT" PGUSER=postgres PGDATABASE=postgres
  export CRM_SERVER_LOG="$CLUSTER_DIR/server.log"
}

psql_quiet() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
