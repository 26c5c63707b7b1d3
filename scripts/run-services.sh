#!/usr/bin/env bash
# Start or stop the services of `make run` in the background (pid and log files in .data/run):
#   run-services.sh start|stop|status|urls <service>...
# Each service is its own command, tongxin-<service>: `serve` (its API) and `worker` (its relay,
# projections and reactions); `tongxin-<service> url` says where each answers.
#
# The pid file holds the service's own process (the venv's tongxin-<service>, not a `uv run`
# wrapper), leader of its own process group: `stop` signals that group, `start` does not start
# a second copy while it lives, notices one that died (and says so), and refuses a port that
# something else already answers on. `status` says which run, died or are stopped (exit 1 when
# one died). Env: TONGXIN_RUN_DIR (pid and log files; .data/run), UV.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-env.sh  # development mode, DATABASE_URL with its password, the keyring
RUN_DIR=${TONGXIN_RUN_DIR:-.data/run}
UV=${UV:-uv}
mkdir -p "$RUN_DIR"

# The synced environment's bin directory: its tongxin-<service> commands are run directly.
bin_dir() {
  if [[ -z ${BIN_DIR:-} ]]; then
    BIN_DIR=$("$UV" run --no-sync python -c 'import os, sys; print(os.path.dirname(sys.executable))')
  fi
  echo "$BIN_DIR"
}

pid_of() { [[ -f $RUN_DIR/$1.pid ]] && cat "$RUN_DIR/$1.pid"; }

# Is pid the service's process (`tongxin-<service> serve|worker`), not a recycled pid?
is_ours() {  # pid, service, role
  local cmd
  # -ww: whole command lines (ps cuts them at $COLUMNS, 80 under many tools, and a checkout
  # in a long path would then never look like ours)
  cmd=$(ps -ww -o args= -p "$1" 2>/dev/null) || return 1
  [[ $cmd == *"tongxin-$2 $3"* ]]
}

group_alive() { kill -0 -- "-$1" 2>/dev/null; }

port_of() {  # http://host:port -> port
  local rest=${1##*:}
  echo "${rest%%/*}"
}

port_taken() {  # host, port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

start_one() {  # service, role (serve|worker), readiness URL (or "")
  local service=$1 role=$2 url=$3 name pid
  name="$service-$([[ $role == serve ]] && echo api || echo worker)"
  if pid=$(pid_of "$name"); then
    if is_ours "$pid" "$service" "$role"; then
      echo "$name: already running (pid $pid)"
      return
    fi
    echo "$name: pid $pid is gone (it exited or was killed; last log lines below); starting a new one" >&2
    tail -n 5 "$RUN_DIR/$name.log" >&2 2>/dev/null || true
    # What was left of its process group (a child it started) goes with it.
    if group_alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    rm -f "$RUN_DIR/$name.pid"
  fi
  if [[ -n $url ]]; then
    local hostport=${url#http://}
    hostport=${hostport%%/*}
    if port_taken "${hostport%:*}" "$(port_of "$url")"; then
      echo "$name: ${hostport} is already taken by another process; not starting a second one" >&2
      exit 1
    fi
  fi
  # Not a process group leader (a background job of a non-interactive shell), setsid execs
  # without forking: $! is the service's own process, leader of its new session and group.
  setsid "$(bin_dir)/tongxin-$service" "$role" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$RUN_DIR/$name.pid"
  if [[ -n $url ]]; then
    for _ in $(seq 1 150); do
      if curl -fsS "$url" >/dev/null 2>&1; then echo "$name: ready at $url (pid $pid)"; return; fi
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.2
    done
    echo "$name: did not become ready; last log lines:" >&2
    tail -n 40 "$RUN_DIR/$name.log" >&2
    exit 1
  fi
  echo "$name: started (pid $pid)"
}

stop_one() {  # name
  local name=$1 pid
  pid=$(pid_of "$name") || return 0
  if group_alive "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do group_alive "$pid" || break; sleep 0.1; done
    if group_alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    echo "$name: stopped"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

status_one() {  # service, role
  local name pid
  name="$1-$([[ $2 == serve ]] && echo api || echo worker)"
  if ! pid=$(pid_of "$name"); then
    echo "$name: stopped"
  elif is_ours "$pid" "$1" "$2"; then
    echo "$name: running (pid $pid)"
  else
    echo "$name: DIED (pid $pid is gone; see $RUN_DIR/$name.log)"
    return 1
  fi
}

url_of() { "$(bin_dir)/tongxin-$1" url "${@:2}"; }

action=${1:-}
shift || true
[[ $# -gt 0 ]] || { echo "usage: $0 start|stop|status|urls <service>..." >&2; exit 2; }
case "$action" in start | urls) BIN_DIR=$(bin_dir) ;; esac
case "$action" in
  start)
    for s in "$@"; do
      api=$(url_of "$s")
      start_one "$s" serve "$api/health"
      worker=$(url_of "$s" --worker)
      start_one "$s" worker "${worker:+$worker/health}"
    done
    ;;
  stop)
    for ((i = $#; i >= 1; i--)); do
      stop_one "${!i}-worker"
      stop_one "${!i}-api"
    done
    ;;
  status)
    rc=0
    for s in "$@"; do
      status_one "$s" serve || rc=1
      status_one "$s" worker || rc=1
    done
    exit $rc
    ;;
  urls)
    for s in "$@"; do
      api=$(url_of "$s")
      printf '  %-17s %s   (OpenAPI docs: %s/docs; AsyncAPI: %s/asyncapi)\n' "$s API" "$api" "$api" "$api"
      worker=$(url_of "$s" --worker)
      [[ -z $worker ]] || printf '  %-17s %s/metrics\n' "$s worker" "$worker"
    done
    ;;
  *) echo "usage: $0 start|stop|status|urls <service>..." >&2; exit 2 ;;
esac
