# Helpers for integration scripts; sourced. Expects PGHOST/PGPORT/PGUSER from
# the test command's throwaway cluster. Exit 77 means "skipped".
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED_DIR="${CRM_SHARED_DIR:-$REPO_ROOT/../shared}"
PG_BIN="/usr/lib/postgresql/${PG_MAJOR:-15}/bin"
# Debian's interpreter, which has python3-numpy (a pyenv python may not).
PYTHON="${CRM_PYTHON:-/usr/bin/python3}"

skip() { echo "  skipped: $*"; exit 77; }
fail() { echo "  FAILED: $*"; exit 1; }

# A fresh database with the extension, dropped on exit.
fresh_database() {
  IT_DB="crm_it_$1"
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" -c "CREATE DATABASE $IT_DB"
  "$PG_BIN/psql" -X -q -d "$IT_DB" -c "CREATE EXTENSION crm_analytics"
  export PGDATABASE="$IT_DB"
  trap '"$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true' EXIT
}

sql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# One line per check; failures are counted in $failures (exit 1 at the end when non-zero).
failures=0
check() {  # description, expected, actual
  if [ "$2" = "$3" ]; then echo "  ok: $1"; else echo "  FAILED: $1 (expected '$2', got '$3')"; failures=$((failures + 1)); fi
}

# The CDNOW files as CSV of (customer, YYYY-MM-DD, dollars): the 2,357-customer sample has five
# whitespace columns (id, customer, date, CDs, dollars), the master file four with a header line.
cdnow_sample_csv() {  # input, output
  tr -d '\r' <"$1" | awk 'NF == 5 { printf "%d,%s-%s-%s,%s\n", $2, substr($3,1,4), substr($3,5,2), substr($3,7,2), $5 }' >"$2"
}
cdnow_master_csv() {  # input, output
  tr -d '\r' <"$1" | awk 'NR > 1 && NF == 4 { printf "%d,%s-%s-%s,%s\n", $1, substr($2,1,4), substr($2,5,2), substr($2,7,2), $4 }' >"$2"
}
