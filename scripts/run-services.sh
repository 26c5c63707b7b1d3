#!/usr/bin/env bash
# Start or stop the services of `make run` in the background (pid and log files in .data/run).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=.data/run
mkdir -p "$RUN_DIR"

start_one() {  # name, readiness URL (or ""), command...
  local name=$1 url=$2
  shift 2
  if [[ -f $RUN_DIR/$name.pid ]] && kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then
    echo "$name: already running (pid $(cat "$RUN_DIR/$name.pid"))"
    return
  fi
  setsid nohup "$@" >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  if [[ -n $url ]]; then
    for _ in $(seq 1 150); do
      if curl -fsS "$url" >/dev/null 2>&1; then echo "$name: ready at $url"; return; fi
      if ! kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then break; fi
      sleep 0.2
    done
    echo "$name: did not become ready; last log lines:" >&2
    tail -n 40 "$RUN_DIR/$name.log" >&2
    exit 1
  fi
  echo "$name: started (pid $(cat "$RUN_DIR/$name.pid"))"
}

stop_one() {
  local name=$1 pid
  [[ -f $RUN_DIR/$name.pid ]] || return 0
  pid=$(cat "$RUN_DIR/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "$name: stopped"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

case "${1:-}" in
  start)
    start_one registry-api http://127.0.0.1:8001/health \
      uv run --no-sync tongxin-registry serve
    start_one registry-worker "" uv run --no-sync tongxin-registry worker
    start_one visits-api http://127.0.0.1:8003/health \
      uv run --no-sync tongxin-visits serve
    start_one visits-worker "" uv run --no-sync tongxin-visits worker
    ;;
  stop)
    stop_one visits-worker
    stop_one visits-api
    stop_one registry-worker
    stop_one registry-api
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
