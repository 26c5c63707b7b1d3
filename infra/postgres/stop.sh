#!/usr/bin/env bash
# Stop the project's PostgreSQL cluster (pg_ctl -m fast: rolls back open
# transactions, disconnects clients, clean shutdown). Idempotent.
#
#   infra/postgres/stop.sh [--wipe]   # --wipe also deletes the cluster directory
#
# Env: TONGXIN_DATA_DIR (as for start.sh; it locates the cluster).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

wipe=0
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "postgres: unknown argument '$arg' (usage: stop.sh [--wipe])" >&2; exit 2 ;;
  esac
done

resolve_pgdata
if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
  echo "postgres: no cluster in $PGDATA_DIR; nothing to stop"
elif ! find_pg_bin; then
  echo "postgres: PostgreSQL binaries not found; nothing can be running"
elif pg_running; then
  echo "postgres: stopping $PGDATA_DIR"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null
  echo "postgres: stopped"
else
  echo "postgres: not running ($PGDATA_DIR)"
fi

if ((wipe)); then
  echo "postgres: wiping $PGDATA_DIR"
  rm -rf "$PGDATA_DIR"
  [[ -L "$PG_DATA_LINK" ]] && rm -f "$PG_DATA_LINK"
fi
exit 0
