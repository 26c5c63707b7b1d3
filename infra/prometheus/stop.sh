#!/usr/bin/env bash
# Stop the Prometheus started by infra/prometheus/start.sh: SIGTERM, up to 20 s, then SIGKILL.
# Idempotent: not running -> exit 0.   infra/prometheus/stop.sh [--wipe]  (--wipe: its data too)
# Env: TONGXIN_DATA_DIR (as for start.sh; it locates the pid file).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_ROOT="${TONGXIN_DATA_DIR:-$(cd "$HERE/../.." && pwd)/.data}"
case "$DATA_ROOT" in /*) ;; *) DATA_ROOT="$PWD/$DATA_ROOT" ;; esac
HOME_DIR="$DATA_ROOT/prometheus"
PID_FILE="$HOME_DIR/prometheus.pid"

ours() {  # pid: a live prometheus process (not a recycled pid)
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q '^prometheus '
}

pid="$(cat "$PID_FILE" 2>/dev/null || true)"
if ours "$pid"; then
  echo "prometheus: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 20))
  while ours "$pid" && ((SECONDS < deadline)); do sleep 0.3; done
  if ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  echo "prometheus: stopped"
else
  echo "prometheus: not running (no live server in $PID_FILE)"
fi
rm -f "$PID_FILE"
if [[ "${1:-}" == "--wipe" ]]; then rm -rf "$HOME_DIR"; fi
