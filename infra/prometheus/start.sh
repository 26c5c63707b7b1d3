#!/usr/bin/env bash
# Start Prometheus (Debian's package, installed when missing and root) on 127.0.0.1, scraping every
# service's API and worker /metrics with the alert rules of alerts.yml.
#
#   infra/prometheus/start.sh [render.py arguments]   # e.g. --service registry=HOST:PORT,HOST:PORT
#
# The configuration is rendered on every start by render.py into <root>/prometheus/prometheus.yml
# (every service under services/ unless --service is given), then checked by promtool.
# Env: PROMETHEUS_PORT (9090), PROMETHEUS_SCRAPE_INTERVAL (15s), PROMETHEUS_RETENTION (2d),
#      TONGXIN_DATA_DIR (data root, default <repo>/.data; Prometheus keeps <root>/prometheus),
#      PYTHON (the interpreter of the synced environment; default `uv run --no-sync python`).
# Ready when /-/ready answers. Idempotent: if the port already answers, it says so and exits 0.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
CONFIG="$HOME_DIR/prometheus.yml"
READY_TIMEOUT=60

die() { echo "prometheus: $*" >&2; exit 1; }

if port_open "$PORT"; then
  echo "prometheus: 127.0.0.1:$PORT already answers; nothing to do"
  exit 0
fi
# Missing: installed from Debian's packages when we are root (as infra/postgres/start.sh does).
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
    die "prometheus not found: install it (Debian: sudo apt-get install -y --no-install-recommends prometheus)"
  fi
  echo "prometheus: installing Debian's package ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends prometheus >/dev/null
  # The package's own service (systemd) would hold :9090 with its own config: not that one.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

if [[ "$DATA_ROOT" == "$REPO_ROOT/.data" ]]; then ignore_dir "$DATA_ROOT"; fi
mkdir -p "$HOME_DIR/data"
if [[ -n "${PYTHON:-}" ]]; then python=("$PYTHON"); else python=("${UV:-uv}" run --no-sync --project "$REPO_ROOT" python); fi
"${python[@]}" "$HERE/render.py" --scrape-interval "${PROMETHEUS_SCRAPE_INTERVAL:-15s}" \
  --out "$CONFIG" "$@"
promtool check config "$CONFIG" >"$HOME_DIR/promtool.out" 2>&1 \
  || { cat "$HOME_DIR/promtool.out" >&2; die "promtool rejected $CONFIG"; }

echo "prometheus: starting on 127.0.0.1:$PORT (config $CONFIG, log $LOG)"
(
  cd "$HOME_DIR"
  exec "${DETACH[@]}" prometheus --config.file="$CONFIG" \
    --web.listen-address="127.0.0.1:$PORT" \
    --storage.tsdb.path="$HOME_DIR/data" \
    --storage.tsdb.retention.time="${PROMETHEUS_RETENTION:-2d}" >"$LOG" 2>&1 </dev/null
) &
pid=$!
echo "$pid" >"$PID_FILE"

ready() { curl -fsS "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; }
show_log() { tail -n 40 "$LOG" >&2; }
await_ready prometheus "$pid" "$PID_FILE" "$READY_TIMEOUT" ready show_log
echo "prometheus: ready on http://127.0.0.1:$PORT (pid $pid)"
