# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Paths and helpers shared by infra/kafka/start.sh and stop.sh (sourced, not run).
#
# Layout (every path absolute, so the scripts work from any working directory):
#   <repo>/.cache/kafka/lib/        broker jars fetched by Maven (git-ignored)
#   <repo>/.cache/kafka/pom.sha256  stamp: sha256 of pom.xml the jars were fetched for
#   <data root>/kafka/              KAFKA_HOME: everything of the running broker
#       server.properties           rendered from infra/kafka/server.properties
#       data/                       log.dirs (formatted by StorageTool on first start)
#       logs/server.log, kafka.out  log4j2 file (WARN) and the JVM's stdout/stderr
#       kafka.pid
# <data root> is $TONGXIN_DATA_DIR, default <repo>/.data.

KAFKA_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KAFKA_SCRIPT_DIR/../.." && pwd)"

KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
for _p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if ! [[ "$_p" =~ ^[0-9]+$ ]] || ((_p < 1 || _p > 65535)); then
    echo "kafka: invalid port '$_p' (KAFKA_PORT / KAFKA_CONTROLLER_PORT)" >&2
    exit 2
  fi
done
unset _p

DATA_ROOT="${TONGXIN_DATA_DIR:-$REPO_ROOT/.data}"
# A relative TONGXIN_DATA_DIR is taken relative to the caller's working directory.
case "$DATA_ROOT" in /*) ;; *) DATA_ROOT="$PWD/$DATA_ROOT" ;; esac

KAFKA_HOME="$DATA_ROOT/kafka"
KAFKA_LOG_DIRS="$KAFKA_HOME/data"
KAFKA_LOGS="$KAFKA_HOME/logs"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_PID_FILE="$KAFKA_HOME/kafka.pid"

CACHE_DIR="$REPO_ROOT/.cache/kafka"
LIB_DIR="$CACHE_DIR/lib"
STAMP_FILE="$CACHE_DIR/pom.sha256"

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
# (A connect to a closed loopback port is refused at once; the timeout only
# guards against a wedged listener. macOS has no `timeout`: go without it.)
port_open() {
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  local probe='exec 3<>"/dev/tcp/127.0.0.1/$1"'
  if command -v timeout >/dev/null; then
    timeout 2 bash -c "$probe" _ "$1" 2>/dev/null
  else
    bash -c "$probe" _ "$1" 2>/dev/null
  fi
}

# alive PID: process exists and is not a zombie (a zombie answers kill -0 until
# its parent reaps it, which would keep stop.sh waiting).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r "/proc/$1/stat" ]]; then
    local stat
    stat="$(<"/proc/$1/stat")"
    stat="${stat##*) }"          # field 3 (state) follows the "(comm) " field
    [[ "${stat%% *}" != Z ]] || return 1
  fi
}

# kafka_pid: print the broker's pid if the pid file names a live kafka.Kafka
# process (guards against a stale pid file whose pid was reused).
kafka_pid() {
  local pid
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  pid="$(<"$KAFKA_PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  fi
  echo "$pid"
}

# ignore_dir DIR: create DIR with a .gitignore that ignores everything in it,
# so .cache/ and .data/ never end up in a commit whatever the root .gitignore says.
ignore_dir() {
  mkdir -p "$1"
  [[ -f "$1/.gitignore" ]] || printf '*\n' >"$1/.gitignore"
}
