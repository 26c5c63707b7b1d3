#!/usr/bin/env bash
# Start the project's own PostgreSQL cluster on 127.0.0.1 without Docker.
#
#   infra/postgres/start.sh          # then: psql -h 127.0.0.1 -p 15432 -U postgres
#
# Env: PG_PORT (15432); TONGXIN_DATA_DIR (data root, default <repo>/.data; the
#      cluster is <root>/postgres); PG_FAST=1 turns off fsync,
#      synchronous_commit and full_page_writes: ONLY for throwaway test
#      clusters (a crash can corrupt the data; never for benchmarks or `make run`).
# Installs PostgreSQL from Debian's packages when missing (root only), creates
# the cluster on first use (trust auth, superuser `postgres`, UTF8), starts it.
# Idempotent: already running -> exit 0. Creating databases is the code's job.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

die() { echo "postgres: $*" >&2; exit 1; }

install_postgres() {
  if ! is_root; then
    die "PostgreSQL server binaries (initdb, pg_ctl) not found.
  Install them, e.g. 'sudo apt-get install -y postgresql' (Debian/Ubuntu) or
  'brew install postgresql@15' (macOS), then re-run $0."
  fi
  command -v apt-get >/dev/null || die "initdb not found and no apt-get: install PostgreSQL (>= 13) by hand"
  echo "postgres: installing PostgreSQL from Debian packages ..."
  # Another process may hold the dpkg/apt lock (e.g. a parallel install): wait for it.
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q postgresql
}

# Root only: create the cluster directory owned by postgres, at the intended
# place if postgres can reach it, else in its home plus a symlink (common.sh).
prepare_dir_as_root() {
  id postgres >/dev/null 2>&1 || die "no 'postgres' system user (it comes with the postgresql package)"
  if [[ -L "$PG_DATA_LINK" || -d "$PG_DATA_LINK" ]]; then
    :
  else
    mkdir -p "$DATA_ROOT"
    if as_pg test -x "$DATA_ROOT"; then
      mkdir -p "$PG_DATA_LINK"
    else
      local home target
      home="$(getent passwd postgres | cut -d: -f6)"
      target="$home/tongxin/$(printf '%s' "$PG_DATA_LINK" | sha256sum | cut -c1-12)"
      echo "postgres: user postgres cannot reach $DATA_ROOT; putting the cluster in $target"
      echo "postgres: ($PG_DATA_LINK is a symlink to it)"
      mkdir -p "$target"
      ln -s "$target" "$PG_DATA_LINK"
    fi
  fi
  resolve_pgdata
  mkdir -p "$PGDATA_DIR"
  if [[ "$(stat -c %U "$PGDATA_DIR")" != postgres ]]; then
    chown -R postgres:postgres "$PGDATA_DIR"
  fi
  as_pg test -w "$PGDATA_DIR" \
    || die "user postgres cannot write $PGDATA_DIR (a parent directory closed to it?)"
}

# ---------------------------------------------------------------------------

find_pg_bin || { install_postgres; find_pg_bin || die "initdb still not found after installing"; }
resolve_pgdata

if pg_running; then
  running_port="$(sed -n 4p "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
  if [[ -n "$running_port" && "$running_port" != "$PG_PORT" ]]; then
    die "cluster $PGDATA_DIR already runs on port $running_port, not $PG_PORT: run infra/postgres/stop.sh first"
  fi
  echo "postgres: already running on 127.0.0.1:$PG_PORT ($PGDATA_DIR)"
  exit 0
fi
if port_open "$PG_PORT"; then
  echo "postgres: 127.0.0.1:$PG_PORT already answers (not this cluster: $PGDATA_DIR); nothing to do"
  exit 0
fi

if [[ "$DATA_ROOT" == "$REPO_ROOT/.data" ]]; then ignore_dir "$DATA_ROOT"; fi
if is_root; then
  prepare_dir_as_root
else
  mkdir -p "$PGDATA_DIR"
fi
chmod 700 "$PGDATA_DIR"

if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
  echo "postgres: creating cluster in $PGDATA_DIR"
  # --no-locale: C collation, identical on every machine; UTF8 encoding.
  as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres -E UTF8 --no-locale >"$PGDATA_DIR.initdb.log" 2>&1 \
    || { cat "$PGDATA_DIR.initdb.log" >&2; die "initdb failed"; }
  rm -f "$PGDATA_DIR.initdb.log"
fi

# Unix socket in the cluster dir, unless that path is too long for a socket
# address (sun_path is ~107 bytes): then /tmp, the usual place.
sock_dir="$PGDATA_DIR"
if ((${#sock_dir} + ${#PG_PORT} + 12 > 100)); then sock_dir=/tmp; fi

# pg_ctl hands -o to a shell: quote the path.
[[ "$sock_dir" != *"'"* ]] || die "the cluster path must not contain a single quote: $sock_dir"
opts="-p $PG_PORT -k '$sock_dir' -c listen_addresses=127.0.0.1 -c max_connections=200"
if [[ "${PG_FAST:-0}" == 1 ]]; then
  # Throwaway test clusters only: a crash can lose or corrupt data.
  opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  echo "postgres: PG_FAST=1: fsync, synchronous_commit and full_page_writes are OFF"
fi

echo "postgres: starting on 127.0.0.1:$PG_PORT ($PGDATA_DIR)"
# -w waits until the server accepts connections (or fails).
if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -o "$opts" -w -t 60 start >/dev/null; then
  tail -n 50 "$PGDATA_DIR/server.log" >&2 || true
  die "pg_ctl start failed (log above: $PGDATA_DIR/server.log)"
fi
echo "postgres: ready on 127.0.0.1:$PG_PORT (psql -h 127.0.0.1 -p $PG_PORT -U postgres)"
