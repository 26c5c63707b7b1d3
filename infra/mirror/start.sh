#!/usr/bin/env bash
# Start Kafka's MirrorMaker 2 (dedicated mode) copying a district's own Kafka cluster into the
# city's: jars from Maven Central (infra/mirror/pom.xml), a plain `java` process, like the broker.
#
#   infra/mirror/start.sh     # b (127.0.0.1:29092) -> city (127.0.0.1:19092)
#
# The copies are named "<source alias>.<topic>" on the target; a service reads them when
# <SERVICE>_MIRRORS lists the alias (e.g. CITY_MIRRORS='["b"]').
#
# Env: MIRROR_SOURCE_ALIAS (b), MIRROR_SOURCE_BOOTSTRAP (127.0.0.1:29092): the district's cluster;
#      MIRROR_TARGET_ALIAS (city), MIRROR_TARGET_BOOTSTRAP (127.0.0.1:19092): the city's;
#      MIRROR_TOPICS (regex, full match; default the five district services' event topics);
#      MIRROR_REFRESH_SECONDS (10: how often new source topics are looked for),
#      MIRROR_FLUSH_MS (5000: how often copied offsets are committed; a killed mirror copies at
#        most that much again), MIRROR_HEAP_MAX (256m),
#      MIRROR_READY_TIMEOUT (90 s), TONGXIN_DATA_DIR (data root; <root>/mirror/<source alias>).
# Ready when the log says MirrorMaker started and a copying task started ("replicating N
# topic-partitions"); when no source topic matches yet, it says so and exits 0 once started.
# Idempotent: a mirror of this source alias already running -> exits 0.
# Needs: java >= 17; mvn only on the first run (or after pom.xml changes).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

READY_TIMEOUT="${MIRROR_READY_TIMEOUT:-90}"

die() { echo "mirror: $*" >&2; exit 1; }

show_logs() {
  local f
  for f in "$MIRROR_LOGS/mirror.out" "$MIRROR_LOGS/mirror.log"; do
    [[ -s "$f" ]] || continue
    echo "----- last 50 lines of $f -----" >&2
    tail -n 50 "$f" >&2
  done
}

# Fetch the jars into .cache/mirror/lib unless the stamp says they are already there for
# exactly this pom.xml (into a temporary dir swapped in only on success, as for the broker).
fetch_jars() {
  local want have="" tmp
  want="$(sha256sum "$MIRROR_SCRIPT_DIR/pom.xml" | cut -d' ' -f1)"
  [[ -f "$STAMP_FILE" ]] && have="$(<"$STAMP_FILE")"
  if [[ "$have" == "$want" ]] \
    && compgen -G "$LIB_DIR/connect-mirror-[0-9]*.jar" >/dev/null \
    && compgen -G "$LIB_DIR/log4j-core-*.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: apt-get install -y maven)"
  echo "mirror: fetching MirrorMaker 2 jars with Maven into $LIB_DIR ..."
  ignore_dir "$REPO_ROOT/.cache"
  mkdir -p "$CACHE_DIR"
  tmp="$CACHE_DIR/lib.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$MIRROR_SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
      -Dmirror.lib.dir="$tmp" >"$CACHE_DIR/mvn.log" 2>&1; then
    tail -n 50 "$CACHE_DIR/mvn.log" >&2
    rm -rf "$tmp"
    die "Maven could not fetch the MirrorMaker 2 jars (full output: $CACHE_DIR/mvn.log)"
  fi
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  echo "$want" >"$STAMP_FILE"
}

check_java() {
  command -v java >/dev/null || die "java not found: install a JDK >= 17 (Debian: apt-get install -y openjdk-17-jre-headless)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" =~ ^[0-9]+$ && "${major%%.*}" -ge 17 ]] || die "Java >= 17 required, found '${major:-unknown}'"
}

# host:port,host:port -> true when at least one answers (only 127.0.0.1/localhost are probed;
# another host is left to the mirror's own retries).
some_broker_answers() {
  local server host port
  local -a servers
  IFS=',' read -ra servers <<<"$1"
  for server in "${servers[@]}"; do
    host="${server%:*}" port="${server##*:}"
    case "$host" in
      127.0.0.1|localhost) port_open "$port" && return 0 ;;
      *) return 0 ;;
    esac
  done
  return 1
}

# Render the template with bash substitutions (a regex may hold any of sed's delimiters). A
# .properties file reads a backslash as an escape: the regex's are doubled.
render() {
  local text topics
  text="$(<"$MIRROR_SCRIPT_DIR/mm2.properties")"
  topics="${MIRROR_TOPICS//\\/\\\\}"
  text="${text//@SOURCE_BOOTSTRAP@/"$MIRROR_SOURCE_BOOTSTRAP"}"
  text="${text//@TARGET_BOOTSTRAP@/"$MIRROR_TARGET_BOOTSTRAP"}"
  text="${text//@SOURCE@/"$MIRROR_SOURCE_ALIAS"}"
  text="${text//@TARGET@/"$MIRROR_TARGET_ALIAS"}"
  text="${text//@TOPICS@/"$topics"}"
  text="${text//@REFRESH@/"$MIRROR_REFRESH_SECONDS"}"
  text="${text//@FLUSH_MS@/"$MIRROR_FLUSH_MS"}"
  printf '%s\n' "$text" >"$MIRROR_PROPS"
}

# ---------------------------------------------------------------------------

if pid="$(mirror_pid)"; then
  echo "mirror: $MIRROR_SOURCE_ALIAS->$MIRROR_TARGET_ALIAS already running (pid $pid); nothing to do"
  exit 0
fi
rm -f "$MIRROR_PID_FILE"

some_broker_answers "$MIRROR_SOURCE_BOOTSTRAP" \
  || die "the source cluster $MIRROR_SOURCE_BOOTSTRAP does not answer (start it first, e.g. KAFKA_PORT=29092 KAFKA_CONTROLLER_PORT=29093 TONGXIN_DATA_DIR=... infra/kafka/start.sh)"
some_broker_answers "$MIRROR_TARGET_BOOTSTRAP" \
  || die "the target cluster $MIRROR_TARGET_BOOTSTRAP does not answer (infra/kafka/start.sh)"
check_java
fetch_jars

if [[ "$DATA_ROOT" == "$REPO_ROOT/.data" ]]; then ignore_dir "$DATA_ROOT"; fi
mkdir -p "$MIRROR_LOGS"
# A fresh log per start: readiness reads this start's lines only.
rm -f "$MIRROR_LOGS"/mirror.log*
render

detach=(nohup)
if command -v setsid >/dev/null; then detach=(setsid nohup); fi
echo "mirror: starting $MIRROR_SOURCE_ALIAS ($MIRROR_SOURCE_BOOTSTRAP) -> $MIRROR_TARGET_ALIAS ($MIRROR_TARGET_BOOTSTRAP), topics /$MIRROR_TOPICS/ (data: $MIRROR_HOME)"
(
  cd "$MIRROR_HOME"
  exec "${detach[@]}" java -Xms64m "-Xmx${MIRROR_HEAP_MAX:-256m}" -XX:+UseSerialGC \
    -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$MIRROR_SCRIPT_DIR/log4j2.properties" \
    "-Dmirror.logs.dir=$MIRROR_LOGS" \
    -cp "$LIB_DIR/*" "$MAIN_CLASS" "$MIRROR_PROPS" >"$MIRROR_LOGS/mirror.out" 2>&1 </dev/null
) &
pid=$!
echo "$pid" >"$MIRROR_PID_FILE"

started=0
deadline=$((SECONDS + READY_TIMEOUT))
while :; do
  if ! alive "$pid"; then
    show_logs
    rm -f "$MIRROR_PID_FILE"
    die "mirror exited during startup (logs above, in $MIRROR_LOGS)"
  fi
  if grep -qs 'Kafka MirrorMaker started' "$MIRROR_LOGS/mirror.log"; then started=1; fi
  if ((started)) && grep -qs "replicating [0-9]* topic-partitions $MIRROR_SOURCE_ALIAS->$MIRROR_TARGET_ALIAS" "$MIRROR_LOGS/mirror.log"; then
    echo "mirror: ready, copying $MIRROR_SOURCE_ALIAS->$MIRROR_TARGET_ALIAS (pid $pid)"
    exit 0
  fi
  if ((SECONDS >= deadline)); then
    if ((started)); then
      echo "mirror: started (pid $pid), but no topic of $MIRROR_SOURCE_ALIAS matches /$MIRROR_TOPICS/ yet: new ones are picked up every ${MIRROR_REFRESH_SECONDS}s"
      exit 0
    fi
    show_logs
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$MIRROR_PID_FILE"
    die "mirror not started after ${READY_TIMEOUT}s; killed it (logs above)"
  fi
  sleep 0.5
done
