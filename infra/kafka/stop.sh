#!/usr/bin/env bash
# Stop the broker started by infra/kafka/start.sh: SIGTERM (clean shutdown),
# up to 30 s, then SIGKILL. Idempotent: not running -> exit 0.
#
#   infra/kafka/stop.sh [--wipe]    # --wipe also deletes <data root>/kafka
#
# Env: TONGXIN_DATA_DIR (as for start.sh; it locates the pid file).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

STOP_TIMEOUT=30
wipe=0
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "kafka: unknown argument '$arg' (usage: stop.sh [--wipe])" >&2; exit 2 ;;
  esac
done

if pid="$(kafka_pid)"; then
  stop_pid kafka "$pid" "$STOP_TIMEOUT"
else
  echo "kafka: not running (no live broker in $KAFKA_PID_FILE)"
  if port_open "$KAFKA_PORT"; then
    echo "kafka: note: 127.0.0.1:$KAFKA_PORT answers, but that process was not started with this data dir" >&2
  fi
fi
rm -f "$KAFKA_PID_FILE"

if ((wipe)); then
  echo "kafka: wiping $KAFKA_HOME"
  rm -rf "$KAFKA_HOME"
fi
