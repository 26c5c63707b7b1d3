#!/usr/bin/env bash
# The tools an operator watches while `make run` runs: Zipkin (traces) and Prometheus (every
# service's /metrics, alert rules). Started before the services (they export their spans to
# Zipkin from their first request: scripts/service-env.sh sets OTEL_EXPORTER_ZIPKIN_ENDPOINT).
#
#   run-tools.sh start|stop|urls
#
# Env: ZIPKIN_PORT (9411), PROMETHEUS_PORT (9090), TONGXIN_DATA_DIR, UV (as for the infra scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
ZIPKIN="http://127.0.0.1:${ZIPKIN_PORT:-9411}"
PROMETHEUS="http://127.0.0.1:${PROMETHEUS_PORT:-9090}"

case "${1:-}" in
  start)
    bash infra/zipkin/start.sh
    bash infra/prometheus/start.sh
    ;;
  stop)
    bash infra/prometheus/stop.sh
    bash infra/zipkin/stop.sh
    ;;
  urls)
    printf '  %-17s %s/zipkin/   (a demo command: search serviceName=tongxin-visits; spans from\n' "Zipkin traces" "$ZIPKIN"
    printf '  %-17s %s\n' "" "the HTTP request through the store, Kafka and every projection that read it)"
    printf '  %-17s %s/targets   (every service'"'"'s API and worker /metrics)\n' "Prometheus" "$PROMETHEUS"
    printf '  %-17s %s/alerts    (outbox backlog, consumer lag, dead letters, SLA breaches)\n' "" "$PROMETHEUS"
    ;;
  *) echo "usage: $0 start|stop|urls" >&2; exit 2 ;;
esac
