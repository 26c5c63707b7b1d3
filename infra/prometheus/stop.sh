#!/usr/bin/env bash
# Stop the Prometheus started by infra/prometheus/start.sh: SIGTERM, up to 20 s, then SIGKILL.
# Idempotent: not running -> exit 0.   infra/prometheus/stop.sh [--wipe]  (--wipe: its data too)
# Env: TONGXIN_DATA_DIR (as for start.sh; it locates the pid file).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"

if pid="$(prometheus_pid)"; then
  stop_pid prometheus "$pid" 20
else
  echo "prometheus: not running (no live server in $PID_FILE)"
fi
rm -f "$PID_FILE"
if [[ "${1:-}" == "--wipe" ]]; then rm -rf "$HOME_DIR"; fi
