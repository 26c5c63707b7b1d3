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

# The broker jars, fetched once per pom.xml.
fetch_jars() {
  fetch_by_pom kafka "$KAFKA_SCRIPT_DIR/pom.xml" "$CACHE_DIR" kafka.lib.dir \
    'kafka_2.13-*.jar' 'log4j-core-*.jar'
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

  # The broker outlives this script (DETACH). Run from KAFKA_HOME so stray JVM files
  # (hs_err_pid*.log) land there and not in the caller's directory.
  echo "kafka: starting broker on 127.0.0.1:$KAFKA_PORT (data: $KAFKA_HOME)"
  (
    cd "$KAFKA_HOME"
    exec "${DETACH[@]}" java -Xms256m "-Xmx${KAFKA_HEAP_MAX:-1g}" -XX:+UseSerialGC "${JVM_OPTS[@]}" \
      kafka.Kafka "$KAFKA_PROPS" >"$KAFKA_LOGS/kafka.out" 2>&1 </dev/null
  ) &
  pid=$!
  echo "$pid" >"$KAFKA_PID_FILE"
fi

# With a fixed port the client listener opens only once the broker is ready,
# so a TCP connect is a valid readiness check.
broker_ready() { port_open "$KAFKA_PORT"; }
await_ready kafka "$pid" "$KAFKA_PID_FILE" "$READY_TIMEOUT" broker_ready show_logs
echo "kafka: ready on 127.0.0.1:$KAFKA_PORT (pid $pid)"
