# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Paths and helpers shared by infra/postgres/start.sh and stop.sh (sourced, not run).
#
# The project's own PostgreSQL cluster lives in <data root>/postgres, where
# <data root> is $TONGXIN_DATA_DIR (default <repo>/.data). Server log:
# <cluster>/server.log. Port: $PG_PORT (default 15432), on 127.0.0.1 only.
#
# Authentication: TCP needs the superuser's password (scram-sha-256); it is
# generated on first start and kept in <data root>/postgres-password (mode 600,
# outside the cluster directory). The Unix socket admits only the cluster's OS
# user, as `postgres` (peer, map `tongxin` in pg_ident.conf). A cluster created
# with trust auth is converted on its next start.sh.
#
# Who runs the server: initdb/postgres refuse to run as root, so as root every
# PostgreSQL command runs as the `postgres` system user (runuser) and the
# cluster directory belongs to it. That user must be able to reach the
# directory: when a parent of <data root> is closed to it (say a checkout under
# /root, mode 700), the cluster is placed in the postgres user's home instead
# (<home>/tongxin/<hash of the intended path>, normally /var/lib/postgresql/...),
# and <data root>/postgres becomes a symlink to it. We do not chmod the user's
# own directories to make them reachable. Not root (a laptop): everything runs
# as the current user, directly in <data root>/postgres.

PG_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$PG_SCRIPT_DIR/../lib/common.sh"  # REPO_ROOT, DATA_ROOT, port_open, ignore_dir, ...

PG_PORT="${PG_PORT:-15432}"
check_port postgres PG_PORT "$PG_PORT"

# The cluster directory, or a symlink to it (see above).
PG_DATA_LINK="$DATA_ROOT/postgres"
# The superuser's password (see above).
PG_PASSWORD_FILE="$DATA_ROOT/postgres-password"

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# as_pg CMD...: run CMD as the cluster's owner. From / so that postgres does not
# complain about a working directory it cannot enter.
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# find_pg_bin: set PG_BIN to the directory holding initdb/pg_ctl: the newest
# Debian /usr/lib/postgresql/<ver>/bin, else whatever `initdb` is on PATH.
find_pg_bin() {
  local d
  PG_BIN=""
  d="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)"
  if [[ -n "$d" ]]; then
    PG_BIN="$(dirname "$d")"
  elif d="$(command -v initdb 2>/dev/null)"; then
    PG_BIN="$(dirname "$d")"
  fi
  [[ -n "$PG_BIN" && -x "$PG_BIN/pg_ctl" ]]
}

# resolve_pgdata: set PGDATA_DIR to the real cluster directory (following the
# fallback symlink, if any). It may not exist yet.
resolve_pgdata() {
  if [[ -L "$PG_DATA_LINK" ]]; then
    PGDATA_DIR="$(readlink -f "$PG_DATA_LINK")"
  else
    PGDATA_DIR="$PG_DATA_LINK"
  fi
}

# pg_running: true when our cluster's postmaster is up.
pg_running() {
  [[ -f "$PGDATA_DIR/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

# pg_os_user: the OS user that owns and runs the cluster.
pg_os_user() {
  if is_root; then echo postgres; else id -un; fi
}

# socket_dir: where the server's Unix socket is: the cluster dir, unless that
# path is too long for a socket address (sun_path is ~107 bytes): then /tmp.
socket_dir() {
  if ((${#PGDATA_DIR} + ${#PG_PORT} + 12 > 100)); then echo /tmp; else echo "$PGDATA_DIR"; fi
}
