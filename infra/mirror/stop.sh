#!/usr/bin/env bash
# Stop the mirror started by infra/mirror/start.sh: SIGTERM (it commits the copied offsets and
# leaves its group), up to 30 s, then SIGKILL. Idempotent: not running -> exit 0.
#
#   infra/mirror/stop.sh [--wipe]   # --wipe also deletes <data root>/mirror/<source alias>
#
# Env: MIRROR_SOURCE_ALIAS and TONGXIN_DATA_DIR (as for start.sh; they locate the pid file).
# The mirror's state (how far it copied) is kept on the target cluster, in
# mm2-offsets.<source alias>.internal: the next start goes on from there.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

STOP_TIMEOUT=30
wipe=0
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "mirror: unknown argument '$arg' (usage: stop.sh [--wipe])" >&2; exit 2 ;;
  esac
done

if pid="$(mirror_pid)"; then
  echo "mirror: stopping $MIRROR_SOURCE_ALIAS->$MIRROR_TARGET_ALIAS (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if alive "$pid"; then
    echo "mirror: still running after ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  fi
  echo "mirror: stopped"
else
  echo "mirror: not running (no live mirror in $MIRROR_PID_FILE)"
fi
rm -f "$MIRROR_PID_FILE"

if ((wipe)); then
  echo "mirror: wiping $MIRROR_HOME"
  rm -rf "$MIRROR_HOME"
fi
