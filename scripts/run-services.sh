#!/usr/bin/env bash
# Start or stop the services of `make run` in the background (pid and log files in .data/run):
#   run-services.sh start|stop|urls <service>...
# Each service is its own command, tongxin-<service>: `serve` (its API) and `worker` (its relay,
# projections and reactions); `tongxin-<service> url` says where each answers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-env.sh  # development mode, DATABASE_URL with its password, the keyring
RUN_DIR=.data/run
UV=${UV:-uv}
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

url_of() { "$UV" run --no-sync "tongxin-$1" url "${@:2}"; }

action=${1:-}
shift || true
[[ $# -gt 0 ]] || { echo "usage: $0 start|stop|urls <service>..." >&2; exit 2; }
case "$action" in
  start)
    for s in "$@"; do
      api=$(url_of "$s")
      start_one "$s-api" "$api/health" "$UV" run --no-sync "tongxin-$s" serve
      worker=$(url_of "$s" --worker)
      start_one "$s-worker" "${worker:+$worker/health}" "$UV" run --no-sync "tongxin-$s" worker
    done
    ;;
  stop)
    for ((i = $#; i >= 1; i--)); do
      stop_one "${!i}-worker"
      stop_one "${!i}-api"
    done
    ;;
  urls)
    for s in "$@"; do
      api=$(url_of "$s")
      printf '  %-17s %s   (OpenAPI docs: %s/docs; AsyncAPI: %s/asyncapi)\n' "$s API" "$api" "$api" "$api"
      worker=$(url_of "$s" --worker)
      [[ -z $worker ]] || printf '  %-17s %s/metrics\n' "$s worker" "$worker"
    done
    ;;
  *) echo "usage: $0 start|stop|urls <service>..." >&2; exit 2 ;;
esac
