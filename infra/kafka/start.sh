#!/usr/bin/env bash
# Start a single-node Apache Kafka 4.1 broker (KRaft, broker+controller) on
# 127.0.0.1 without Docker: jars from Maven Central, a plain `java` process.
#
#   infra/kafka/start.sh            # PLAINTEXT on 127.0.0.1:19092
#
# Env: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093),
#      KAFKA_HEAP_MAX (1g: the broker's heap; its metadata grows with every
#      partition, and a development cluster keeps what `make run` and test runs made),
#      TONGXIN_DATA_DIR (data root, default <repo>/.data; Kafka uses <root>/kafka).
# Idempotent: if the port already answers, it says so and exits 0.
# Needs: java >= 17; mvn only on the first run (or after pom.xml changes).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

READY_TIMEOUT=60

die() { echo "kafka: $*" >&2; exit 1; }

show_logs() {
  local f
  for f in "$KAFKA_LOGS/kafka.out" "$KAFKA_LOGS/server.log"; do
    [[ -s "$f" ]] || continue
    echo "----- last 50 lines of $f -----" >&2
    tail -n 50 "$f" >&2
  done
}

# Fetch the broker jars into .cache/kafka/lib unless the stamp says they are
# already there for exactly this pom.xml. Maven writes into a temporary dir that
# is swapped in only on success, so an interrupted fetch never looks complete.
fetch_jars() {
  local want have="" tmp
  want="$(sha256sum "$KAFKA_SCRIPT_DIR/pom.xml" | cut -d' ' -f1)"
  [[ -f "$STAMP_FILE" ]] && have="$(<"$STAMP_FILE")"
  if [[ "$have" == "$want" ]] \
    && compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null \
    && compgen -G "$LIB_DIR/log4j-core-*.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: apt-get install -y maven)"
  echo "kafka: fetching broker jars with Maven into $LIB_DIR ..."
  ignore_dir "$REPO_ROOT/.cache"
  mkdir -p "$CACHE_DIR"
  tmp="$CACHE_DIR/lib.tmp.$$"
  rm -rf "$tmp"
  # Property kafka.lib.dir, not -DoutputDirectory: the pom's <configuration> wins
  # over the latter. Output goes to a log (Debian's mvn prints stray ANSI resets
  # even with -q -B) and is shown only on failure.
  if ! mvn -q -B -f "$KAFKA_SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
      -Dkafka.lib.dir="$tmp" >"$CACHE_DIR/mvn.log" 2>&1; then
    tail -n 50 "$CACHE_DIR/mvn.log" >&2
    rm -rf "$tmp"
    die "Maven could not fetch the broker jars (full output: $CACHE_DIR/mvn.log)"
  fi
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  echo "$want" >"$STAMP_FILE"
}

# Kafka 4.x brokers need Java 17+.
check_java() {
  command -v java >/dev/null || die "java not found: install a JDK >= 17 (Debian: apt-get install -y openjdk-17-jre-headless)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" =~ ^[0-9]+$ && "${major%%.*}" -ge 17 ]] || die "Java >= 17 required, found '${major:-unknown}'"
}

# Common JVM options for the broker and StorageTool.
jvm_opts() {
  JVM_OPTS=(
    -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KAFKA_SCRIPT_DIR/log4j2.properties"
    "-Dkafka.logs.dir=$KAFKA_LOGS"
    -cp "$LIB_DIR/*"
  )
}

# ---------------------------------------------------------------------------

if port_open "$KAFKA_PORT"; then
  echo "kafka: 127.0.0.1:$KAFKA_PORT already answers; nothing to do"
  exit 0
fi

if pid="$(kafka_pid)"; then
  # Started by an earlier call that is still coming up: just wait for it below.
  echo "kafka: broker (pid $pid) is already starting; waiting for it"
else
  rm -f "$KAFKA_PID_FILE"
  if port_open "$KAFKA_CONTROLLER_PORT"; then
    die "controller port 127.0.0.1:$KAFKA_CONTROLLER_PORT is taken by another process (set KAFKA_CONTROLLER_PORT)"
  fi
  check_java
  fetch_jars
  jvm_opts

  if [[ "$DATA_ROOT" == "$REPO_ROOT/.data" ]]; then ignore_dir "$DATA_ROOT"; fi
  mkdir -p "$KAFKA_LOG_DIRS" "$KAFKA_LOGS"

  # Render the template. Rewritten on every start so port changes take effect.
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_LOG_DIRS@|$KAFKA_LOG_DIRS|g" \
      "$KAFKA_SCRIPT_DIR/server.properties" >"$KAFKA_PROPS"

  # First start: format the storage with a fresh cluster id. --standalone makes
  # this node the single voter of a dynamic quorum (needs
  # controller.quorum.bootstrap.servers, which the template uses).
  if [[ ! -f "$KAFKA_LOG_DIRS/meta.properties" ]]; then
    cluster_id="$(java "${JVM_OPTS[@]}" kafka.tools.StorageTool random-uuid)"
    echo "kafka: formatting $KAFKA_LOG_DIRS (cluster id $cluster_id)"
    java "${JVM_OPTS[@]}" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$KAFKA_PROPS" --standalone >"$KAFKA_LOGS/format.out" 2>&1 \
      || { cat "$KAFKA_LOGS/format.out" >&2; die "StorageTool format failed"; }
  fi

  # The broker outlives this script: nohup + its own session (setsid, where
  # available) so neither a closing terminal nor a signal to the caller's
  # process group takes it down. Run from KAFKA_HOME so stray JVM files
  # (hs_err_pid*.log) land there and not in the caller's directory.
  detach=(nohup)
  if command -v setsid >/dev/null; then detach=(setsid nohup); fi
  echo "kafka: starting broker on 127.0.0.1:$KAFKA_PORT (data: $KAFKA_HOME)"
  (
    cd "$KAFKA_HOME"
    exec "${detach[@]}" java -Xms256m "-Xmx${KAFKA_HEAP_MAX:-1g}" -XX:+UseSerialGC "${JVM_OPTS[@]}" \
      kafka.Kafka "$KAFKA_PROPS" >"$KAFKA_LOGS/kafka.out" 2>&1 </dev/null
  ) &
  pid=$!
  echo "$pid" >"$KAFKA_PID_FILE"
fi

# With a fixed port the client listener opens only once the broker is ready,
# so a TCP connect is a valid readiness check.
deadline=$((SECONDS + READY_TIMEOUT))
while ! port_open "$KAFKA_PORT"; do
  if ! alive "$pid"; then
    show_logs
    rm -f "$KAFKA_PID_FILE"
    die "broker exited during startup (logs above, in $KAFKA_LOGS)"
  fi
  if ((SECONDS >= deadline)); then
    show_logs
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$KAFKA_PID_FILE"
    die "broker not ready on 127.0.0.1:$KAFKA_PORT after ${READY_TIMEOUT}s; killed it (logs above)"
  fi
  sleep 0.5
done
echo "kafka: ready on 127.0.0.1:$KAFKA_PORT (pid $pid)"
