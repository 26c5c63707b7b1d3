# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Paths and helpers shared by infra/mirror/start.sh and stop.sh (sourced, not run).
#
# Layout (every path absolute, so the scripts work from any working directory):
#   <repo>/.cache/mirror/lib/        MirrorMaker 2 jars fetched by Maven (git-ignored)
#   <repo>/.cache/mirror/pom.sha256  stamp: sha256 of pom.xml the jars were fetched for
#   <data root>/mirror/<alias>/      MIRROR_HOME: everything of the mirror of one source cluster
#       mm2.properties               rendered from infra/mirror/mm2.properties
#       logs/mirror.log, mirror.out  log4j2 file (WARN + the start lines) and the JVM's stdout/stderr
#       mirror.pid
# <data root> is $TONGXIN_DATA_DIR, default <repo>/.data.

MIRROR_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The broker's helpers (port_open, alive, ignore_dir) and REPO_ROOT, DATA_ROOT; its own
# paths (CACHE_DIR, LIB_DIR, STAMP_FILE) are replaced by the mirror's below.
# shellcheck source-path=SCRIPTDIR source=../kafka/common.sh
source "$MIRROR_SCRIPT_DIR/../kafka/common.sh"

MIRROR_SOURCE_ALIAS="${MIRROR_SOURCE_ALIAS:-b}"
MIRROR_TARGET_ALIAS="${MIRROR_TARGET_ALIAS:-city}"
MIRROR_SOURCE_BOOTSTRAP="${MIRROR_SOURCE_BOOTSTRAP:-127.0.0.1:29092}"
MIRROR_TARGET_BOOTSTRAP="${MIRROR_TARGET_BOOTSTRAP:-127.0.0.1:19092}"
# The district services' event topics (full match); never the city's own.
MIRROR_TOPICS="${MIRROR_TOPICS:-(registry|visits|wellbeing|safety|committees)\\.events}"
MIRROR_REFRESH_SECONDS="${MIRROR_REFRESH_SECONDS:-10}"
MIRROR_FLUSH_MS="${MIRROR_FLUSH_MS:-5000}"

# An alias is a topic-name prefix and a directory name: plain names only.
for _a in "$MIRROR_SOURCE_ALIAS" "$MIRROR_TARGET_ALIAS"; do
  if ! [[ "$_a" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]]; then
    echo "mirror: invalid alias or id '$_a' (MIRROR_SOURCE_ALIAS / MIRROR_TARGET_ALIAS: letters, digits, - and _)" >&2
    exit 2
  fi
done
unset _a
if [[ "$MIRROR_SOURCE_ALIAS" == "$MIRROR_TARGET_ALIAS" ]]; then
  echo "mirror: source and target alias are both '$MIRROR_SOURCE_ALIAS'" >&2
  exit 2
fi
for _n in "$MIRROR_REFRESH_SECONDS" "$MIRROR_FLUSH_MS"; do
  if ! [[ "$_n" =~ ^[0-9]+$ ]] || ((_n < 1)); then
    echo "mirror: invalid number '$_n' (MIRROR_REFRESH_SECONDS / MIRROR_FLUSH_MS)" >&2
    exit 2
  fi
done
unset _n

MIRROR_HOME="$DATA_ROOT/mirror/$MIRROR_SOURCE_ALIAS"
MIRROR_LOGS="$MIRROR_HOME/logs"
MIRROR_PROPS="$MIRROR_HOME/mm2.properties"
MIRROR_PID_FILE="$MIRROR_HOME/mirror.pid"

CACHE_DIR="$REPO_ROOT/.cache/mirror"
LIB_DIR="$CACHE_DIR/lib"
STAMP_FILE="$CACHE_DIR/pom.sha256"

MAIN_CLASS=org.apache.kafka.connect.mirror.MirrorMaker

# mirror_pid: print the mirror's pid if the pid file names a live MirrorMaker process (guards
# against a stale pid file whose pid was reused).
mirror_pid() {
  local pid
  [[ -f "$MIRROR_PID_FILE" ]] || return 1
  pid="$(<"$MIRROR_PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'connect\.mirror\.MirrorMaker' || return 1
  fi
  echo "$pid"
}
