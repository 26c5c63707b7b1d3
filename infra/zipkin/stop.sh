#!/usr/bin/env bash
# Stop the Zipkin server started by infra/zipkin/start.sh (its spans were in memory: gone).
# SIGTERM, up to 20 s, then SIGKILL. Idempotent: not running -> exit 0.
# Env: TONGXIN_DATA_DIR, ZIPKIN_PORT (as for start.sh).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if pid="$(zipkin_pid)"; then
  stop_pid zipkin "$pid" 20
else
  echo "zipkin: not running (no live server in $ZIPKIN_PID_FILE)"
fi
rm -f "$ZIPKIN_PID_FILE"
