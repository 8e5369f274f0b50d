# Shared shell helpers for the setup, showcase, test and bench scripts.
# Sourced, never executed. Everything here is idempotent.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"

# Root runs privileged steps directly; a normal user needs sudo for them.
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

log() { printf '==> %s\n' "$*" >&2; }

# Debian packages the build and the tests need. Installed only when missing,
# so a second run does not touch the network at all.
REQUIRED_PACKAGES=(
  "postgresql-${PG_MAJOR}" "postgresql-server-dev-${PG_MAJOR}" "postgresql-contrib"
  libeigen3-dev libboost-dev nlohmann-json3-dev liblbfgspp-dev cmake g++ make libgtest-dev
  python3 python3-numpy python3-scipy python3-mpmath python3-sklearn python3-pandas sqlsmith
  "postgresql-${PG_MAJOR}-cron" python3-psycopg2 libpostgresql-jdbc-java default-jdk-headless odbc-postgresql unixodbc
)

install_missing_packages() {
  local missing=()
  local pkg
  for pkg in "${REQUIRED_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "all required Debian packages are present"
    return 0
  fi
  log "installing missing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Debian starts a default cluster when postgresql is installed; we never use it,
  # so keep the service from starting (policy-rc.d exit 101 denies it).
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Number of parallel make jobs: the machines are small, keep one core free for the server.
build_jobs() { nproc 2>/dev/null || echo 2; }

build_and_install_extension() {
  log "building the extension"
  make -C "$REPO_ROOT" -s -j"$(build_jobs)" >/dev/null
  log "installing the extension into the system PostgreSQL directories"
  $SUDO make -C "$REPO_ROOT" -s install >/dev/null
}
