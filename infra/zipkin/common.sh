# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Paths and helpers shared by infra/zipkin/start.sh and stop.sh (sourced, not run).
#
#   <repo>/.cache/zipkin/lib/         the server's executable jar, fetched by Maven (git-ignored)
#   <repo>/.cache/zipkin/pom.sha256   stamp: sha256 of the pom.xml the jar was fetched for
#   <data root>/zipkin/zipkin.pid, zipkin.log
# <data root> is $TONGXIN_DATA_DIR, default <repo>/.data.

ZIPKIN_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$ZIPKIN_SCRIPT_DIR/../.." && pwd)"

ZIPKIN_PORT="${ZIPKIN_PORT:-9411}"
if ! [[ "$ZIPKIN_PORT" =~ ^[0-9]+$ ]] || ((ZIPKIN_PORT < 1 || ZIPKIN_PORT > 65535)); then
  echo "zipkin: invalid port '$ZIPKIN_PORT' (ZIPKIN_PORT)" >&2
  exit 2
fi

DATA_ROOT="${TONGXIN_DATA_DIR:-$REPO_ROOT/.data}"
case "$DATA_ROOT" in /*) ;; *) DATA_ROOT="$PWD/$DATA_ROOT" ;; esac
ZIPKIN_HOME="$DATA_ROOT/zipkin"
ZIPKIN_PID_FILE="$ZIPKIN_HOME/zipkin.pid"
ZIPKIN_LOG="$ZIPKIN_HOME/zipkin.log"

CACHE_DIR="$REPO_ROOT/.cache/zipkin"
LIB_DIR="$CACHE_DIR/lib"
STAMP_FILE="$CACHE_DIR/pom.sha256"

port_open() {
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# alive PID: the process exists and is not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r "/proc/$1/stat" ]]; then
    local stat
    stat="$(<"/proc/$1/stat")"
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]] || return 1
  fi
}

# zipkin_pid: the server's pid when the pid file names a live zipkin-server java process.
zipkin_pid() {
  local pid
  [[ -f "$ZIPKIN_PID_FILE" ]] || return 1
  pid="$(<"$ZIPKIN_PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'zipkin-server' || return 1
  fi
  echo "$pid"
}

ignore_dir() {
  mkdir -p "$1"
  [[ -f "$1/.gitignore" ]] || printf '*\n' >"$1/.gitignore"
}
