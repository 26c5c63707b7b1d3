#!/usr/bin/env bash
# Start the project's own PostgreSQL cluster on 127.0.0.1 without Docker.
#
#   infra/postgres/start.sh   # then: PGPASSWORD=$(cat .data/postgres-password) psql -h 127.0.0.1 -p 15432 -U postgres
#
# Env: PG_PORT (15432); TONGXIN_DATA_DIR (data root, default <repo>/.data; the
#      cluster is <root>/postgres); PG_FAST=1 turns off fsync,
#      synchronous_commit and full_page_writes: ONLY for throwaway test
#      clusters (a crash can corrupt the data; never for benchmarks or `make run`).
# Installs PostgreSQL from Debian's packages when missing (root only), creates
# the cluster on first use (superuser `postgres`, UTF8), starts it.
# Auth: scram-sha-256 over TCP with a random password generated on first start
# and kept in <data root>/postgres-password (mode 600, outside the cluster);
# peer on the Unix socket for the cluster's OS user only. A cluster made with
# trust auth (before this) is converted: password set, pg_hba.conf rewritten,
# configuration reloaded, even when it is already running.
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

# ensure_password_file: generate the superuser's password on first start.
# Sets PASSWORD_NEW=1 when it did (the server does not know it yet).
PASSWORD_NEW=0
ensure_password_file() {
  if [[ -s "$PG_PASSWORD_FILE" ]]; then
    chmod 600 "$PG_PASSWORD_FILE"
    return
  fi
  mkdir -p "$DATA_ROOT"
  # 24 random bytes as hex: 48 characters, nothing to quote in a URL or in SQL.
  (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$PG_PASSWORD_FILE")
  [[ "$(wc -c <"$PG_PASSWORD_FILE")" -eq 48 ]] || die "could not generate $PG_PASSWORD_FILE"
  PASSWORD_NEW=1
  echo "postgres: generated the superuser's password in $PG_PASSWORD_FILE"
}

hba_conf() {
  cat <<'HBA'
# Written by infra/postgres/start.sh: a password over TCP (scram-sha-256), and
# on the Unix socket only the cluster's OS user, as postgres (peer, map tongxin).
# TYPE  DATABASE     USER      ADDRESS        METHOD
local   all          postgres                 peer map=tongxin
local   replication  postgres                 peer map=tongxin
local   all          all                      scram-sha-256
host    all          all       127.0.0.1/32   scram-sha-256
host    all          all       ::1/128        scram-sha-256
host    replication  all       127.0.0.1/32   scram-sha-256
HBA
}

ident_conf() {
  printf '# Written by infra/postgres/start.sh: the OS user that runs the cluster is postgres.\n'
  printf '# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n'
  printf 'tongxin    %s  postgres\n' "$(pg_os_user)"
}

# auth_files_current: pg_hba.conf and pg_ident.conf are the ones above.
auth_files_current() {
  [[ "$(as_pg cat "$PGDATA_DIR/pg_hba.conf" 2>/dev/null)" == "$(hba_conf)" ]] \
    && [[ "$(as_pg cat "$PGDATA_DIR/pg_ident.conf" 2>/dev/null)" == "$(ident_conf)" ]]
}

install_auth_files() {
  hba_conf | as_pg tee "$PGDATA_DIR/pg_hba.conf" >/dev/null
  ident_conf | as_pg tee "$PGDATA_DIR/pg_ident.conf" >/dev/null
}

# secure_running_cluster: give the running server the password (when new, or
# when it still trusts everyone) through its Unix socket, then its auth files.
secure_running_cluster() {
  local converted=0
  if ((PASSWORD_NEW)) || ! auth_files_current; then
    # On stdin, not argv: the password never shows in ps.
    printf "SET password_encryption = 'scram-sha-256';\nALTER ROLE postgres PASSWORD '%s';\n" \
      "$(cat "$PG_PASSWORD_FILE")" \
      | as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(socket_dir)" -p "$PG_PORT" \
        -U postgres -d postgres >/dev/null \
      || die "could not set the superuser's password through the socket in $(socket_dir)"
  fi
  if ! auth_files_current; then
    install_auth_files
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" reload >/dev/null
    converted=1
  fi
  if ((converted)); then
    # The reload is a signal: wait until TCP without a password is refused.
    for _ in $(seq 1 50); do
      PGPASSWORD='' PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -w -h 127.0.0.1 -p "$PG_PORT" \
        -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 || break
      sleep 0.1
    done
    echo "postgres: authentication is now scram-sha-256 over TCP (password in $PG_PASSWORD_FILE)"
  fi
}

# ---------------------------------------------------------------------------

find_pg_bin || { install_postgres; find_pg_bin || die "initdb still not found after installing"; }
resolve_pgdata

if pg_running; then
  running_port="$(sed -n 4p "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
  if [[ -n "$running_port" && "$running_port" != "$PG_PORT" ]]; then
    die "cluster $PGDATA_DIR already runs on port $running_port, not $PG_PORT: run infra/postgres/stop.sh first"
  fi
  ensure_password_file
  secure_running_cluster
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

ensure_password_file
if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
  echo "postgres: creating cluster in $PGDATA_DIR"
  # initdb reads the password from a file only the cluster's OS user can read.
  pwfile="$(mktemp)"
  cp "$PG_PASSWORD_FILE" "$pwfile"
  if is_root; then chown postgres "$pwfile"; fi
  # --no-locale: C collation, identical on every machine; UTF8 encoding.
  if ! as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --pwfile="$pwfile" \
    --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --no-locale >"$PGDATA_DIR.initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$PGDATA_DIR.initdb.log" >&2
    die "initdb failed"
  fi
  rm -f "$pwfile" "$PGDATA_DIR.initdb.log"
  install_auth_files
  PASSWORD_NEW=0  # initdb gave it to the server
fi

# Unix socket in the cluster dir, or /tmp when that path is too long (common.sh).
sock_dir="$(socket_dir)"

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
secure_running_cluster
echo "postgres: ready on 127.0.0.1:$PG_PORT (user postgres, password in $PG_PASSWORD_FILE)"
