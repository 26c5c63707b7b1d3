# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Helpers shared by the local tools' scripts (infra/kafka, infra/zipkin, infra/prometheus), sourced
# by their own common.sh or script, never run. Each script keeps its own paths and messages; this
# file has what they all do alike: the data root, port checks, a started process's pid, jars
# fetched by Maven once per pom, a detached start, waiting for readiness, a stop.
#
#   REPO_ROOT   the repository (absolute)
#   DATA_ROOT   $TONGXIN_DATA_DIR, default <repo>/.data (a relative one: from the caller's cwd)

INFRA_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_LIB_DIR/../.." && pwd)"
DATA_ROOT="${TONGXIN_DATA_DIR:-$REPO_ROOT/.data}"
case "$DATA_ROOT" in /*) ;; *) DATA_ROOT="$PWD/$DATA_ROOT" ;; esac

# check_port TOOL VARIABLE VALUE: exit 2 naming VARIABLE unless VALUE is a TCP port.
check_port() {
  if ! [[ "$3" =~ ^[0-9]+$ ]] || (($3 < 1 || $3 > 65535)); then
    echo "$1: invalid port '$3' ($2)" >&2
    exit 2
  fi
}

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
# its parent reaps it, which would keep a stop waiting).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r "/proc/$1/stat" ]]; then
    local stat
    stat="$(<"/proc/$1/stat")"
    stat="${stat##*) }"          # field 3 (state) follows the "(comm) " field
    [[ "${stat%% *}" != Z ]] || return 1
  fi
}

# live_pid PID_FILE PATTERN: print the pid of PID_FILE if it names a live process whose
# command line matches PATTERN (grep -E; guards against a stale pid file whose pid was reused).
live_pid() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(<"$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq "$2" || return 1
  fi
  echo "$pid"
}

# ignore_dir DIR: create DIR with a .gitignore that ignores everything in it,
# so .cache/ and .data/ never end up in a commit whatever the root .gitignore says.
ignore_dir() {
  mkdir -p "$1"
  [[ -f "$1/.gitignore" ]] || printf '*\n' >"$1/.gitignore"
}

# fetch_by_pom TOOL POM CACHE_DIR LIB_PROPERTY GLOB...: the jars of POM copied by Maven into
# CACHE_DIR/lib, unless CACHE_DIR/pom.sha256 says they are there for exactly this POM and every
# GLOB (under lib) matches. LIB_PROPERTY is the pom's property naming the output directory (not
# -DoutputDirectory: the pom's <configuration> wins over it). Maven writes into a temporary dir
# swapped in only on success, so an interrupted fetch never looks complete; its output goes to
# CACHE_DIR/mvn.log (Debian's mvn prints stray ANSI resets even with -q -B), shown on failure.
fetch_by_pom() {
  local tool="$1" pom="$2" cache="$3" property="$4" want have="" tmp glob ok=1
  shift 4
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  [[ -f "$cache/pom.sha256" ]] && have="$(<"$cache/pom.sha256")"
  for glob in "$@"; do compgen -G "$cache/lib/$glob" >/dev/null || ok=0; done
  if [[ "$have" == "$want" ]] && ((ok)); then
    return 0
  fi
  if ! command -v mvn >/dev/null; then
    echo "$tool: mvn not found: install Maven (Debian: apt-get install -y maven)" >&2
    exit 1
  fi
  echo "$tool: fetching jars with Maven into $cache/lib ..."
  ignore_dir "$REPO_ROOT/.cache"
  mkdir -p "$cache"
  tmp="$cache/lib.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies "-D$property=$tmp" \
      >"$cache/mvn.log" 2>&1; then
    tail -n 50 "$cache/mvn.log" >&2
    rm -rf "$tmp"
    echo "$tool: Maven could not fetch the jars (full output: $cache/mvn.log)" >&2
    exit 1
  fi
  rm -rf "${cache:?}/lib"
  mv "$tmp" "$cache/lib"
  echo "$want" >"$cache/pom.sha256"
}

# DETACH: the prefix of a command that outlives its script: nohup + its own session (setsid,
# where available) so neither a closing terminal nor a signal to the caller's process group
# takes it down.
DETACH=(nohup)
if command -v setsid >/dev/null; then DETACH=(setsid nohup); fi

# await_ready TOOL PID PID_FILE TIMEOUT READY SHOW: poll READY (a command) until it succeeds;
# when PID dies first, or after TIMEOUT seconds (then PID is killed), run SHOW (a command
# printing the logs), remove PID_FILE and exit 1.
await_ready() {
  local tool="$1" pid="$2" pid_file="$3" timeout="$4" ready="$5" show="$6" deadline
  deadline=$((SECONDS + timeout))
  until "$ready"; do
    if ! alive "$pid"; then
      "$show" || true
      rm -f "$pid_file"
      echo "$tool: exited during startup (logs above)" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      "$show" || true
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pid_file"
      echo "$tool: not ready after ${timeout}s; killed it (logs above)" >&2
      exit 1
    fi
    sleep 0.5
  done
}

# stop_pid TOOL PID TIMEOUT: SIGTERM, up to TIMEOUT seconds, then SIGKILL (and up to 10 s more).
stop_pid() {
  local tool="$1" pid="$2" timeout="$3" deadline
  echo "$tool: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.3; done
  if alive "$pid"; then
    echo "$tool: still running after ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  fi
  echo "$tool: stopped"
}
