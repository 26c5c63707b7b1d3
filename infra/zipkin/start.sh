#!/usr/bin/env bash
# Start Zipkin (the traces' UI and API) on 127.0.0.1 without Docker: its server jar from Maven
# Central (infra/zipkin/pom.xml), a plain `java -jar`, spans kept in memory.
#
#   infra/zipkin/start.sh     # UI http://127.0.0.1:9411/zipkin/, spans POSTed to /api/v2/spans
#
# Env: ZIPKIN_PORT (9411), ZIPKIN_HEAP_MAX (384m), ZIPKIN_MAX_SPANS (100000: the in-memory
#      store's bound, oldest traces dropped first), TONGXIN_DATA_DIR (data root, default
#      <repo>/.data; pid and log in <root>/zipkin).
# Ready when /health answers. Idempotent: if the port already answers, it says so and exits 0.
# Needs: java >= 17; mvn only on the first run (or after pom.xml changes).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

READY_TIMEOUT=${ZIPKIN_READY_TIMEOUT:-90}
die() { echo "zipkin: $*" >&2; exit 1; }

healthy() { curl -fsS "http://127.0.0.1:$ZIPKIN_PORT/health" >/dev/null 2>&1; }
show_log() { tail -n 40 "$ZIPKIN_LOG" >&2; }

if port_open "$ZIPKIN_PORT"; then
  echo "zipkin: 127.0.0.1:$ZIPKIN_PORT already answers; nothing to do"
  exit 0
fi

if pid="$(zipkin_pid)"; then
  echo "zipkin: server (pid $pid) is already starting; waiting for it"
else
  rm -f "$ZIPKIN_PID_FILE"
  command -v java >/dev/null || die "java not found: install a JDK >= 17 (Debian: apt-get install -y openjdk-17-jre-headless)"
  fetch_by_pom zipkin "$ZIPKIN_SCRIPT_DIR/pom.xml" "$CACHE_DIR" zipkin.lib.dir \
    'zipkin-server-*-exec.jar'
  jar="$(compgen -G "$LIB_DIR/zipkin-server-*-exec.jar" | head -n 1)"
  if [[ "$DATA_ROOT" == "$REPO_ROOT/.data" ]]; then ignore_dir "$DATA_ROOT"; fi
  mkdir -p "$ZIPKIN_HOME"
  echo "zipkin: starting on 127.0.0.1:$ZIPKIN_PORT (log: $ZIPKIN_LOG)"
  (
    cd "$ZIPKIN_HOME"
    # QUERY_PORT: the one port of UI, API and span intake; bound to loopback only.
    export QUERY_PORT="$ZIPKIN_PORT" STORAGE_TYPE=mem MEM_MAX_SPANS="${ZIPKIN_MAX_SPANS:-100000}"
    exec "${DETACH[@]}" java -Xms64m "-Xmx${ZIPKIN_HEAP_MAX:-384m}" -XX:+UseSerialGC \
      -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -jar "$jar" \
      --armeria.ports[0].port="$ZIPKIN_PORT" --armeria.ports[0].ip=127.0.0.1 \
      --armeria.ports[0].protocols=http >"$ZIPKIN_LOG" 2>&1 </dev/null
  ) &
  pid=$!
  echo "$pid" >"$ZIPKIN_PID_FILE"
fi

await_ready zipkin "$pid" "$ZIPKIN_PID_FILE" "$READY_TIMEOUT" healthy show_log
echo "zipkin: ready on http://127.0.0.1:$ZIPKIN_PORT/zipkin/ (pid $pid)"
