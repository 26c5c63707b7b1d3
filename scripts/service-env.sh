# shellcheck shell=bash
# The environment of the services `make run` starts (sourced by scripts/run-services.sh and the
# Makefile's `run` target, never run). A variable already set is kept.
#
#   TONGXIN_ENV=development   published default secrets (the registry's pseudonym secret) are
#                             accepted with a warning; never in production (the default)
#   TONGXIN_KEYRING_DIR       the master keys that wrap the subject keys: <data root>/keyring,
#                             created with its first key on first start
#   WELLBEING_REFERRAL_ACK_SECONDS=120   the demo's unacknowledged crisis referral escalates
#                             two minutes after it is made, not an hour (production: 3600)
#   SAFETY_REPORT_LIMIT_SECONDS=120   the demo's unreported incident escalates two minutes
#                             after it is recorded, not two hours (production: 7200)
#   OTEL_EXPORTER_ZIPKIN_ENDPOINT   every process's spans go to the Zipkin of make run
#                             (scripts/run-tools.sh): http://127.0.0.1:$ZIPKIN_PORT/api/v2/spans
#   DATABASE_URL              the project's own PostgreSQL, with the password
#                             infra/postgres/start.sh generated in <data root>/postgres-password
#
# <data root> is $TONGXIN_DATA_DIR, else <repo>/.data (as for infra/postgres/start.sh).
tx_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tx_data="${TONGXIN_DATA_DIR:-$tx_root/.data}"
case "$tx_data" in /*) ;; *) tx_data="$PWD/$tx_data" ;; esac

export TONGXIN_ENV="${TONGXIN_ENV:-development}"
export TONGXIN_KEYRING_DIR="${TONGXIN_KEYRING_DIR:-$tx_data/keyring}"
export WELLBEING_REFERRAL_ACK_SECONDS="${WELLBEING_REFERRAL_ACK_SECONDS:-120}"
export SAFETY_REPORT_LIMIT_SECONDS="${SAFETY_REPORT_LIMIT_SECONDS:-120}"
export OTEL_EXPORTER_ZIPKIN_ENDPOINT="${OTEL_EXPORTER_ZIPKIN_ENDPOINT-http://127.0.0.1:${ZIPKIN_PORT:-9411}/api/v2/spans}"
if [[ -z "${DATABASE_URL:-}" ]]; then
  if [[ -s "$tx_data/postgres-password" ]]; then
    DATABASE_URL="postgresql://postgres:$(<"$tx_data/postgres-password")@127.0.0.1:${PG_PORT:-15432}/postgres"
  else
    DATABASE_URL="postgresql://postgres@127.0.0.1:${PG_PORT:-15432}/postgres"
  fi
  export DATABASE_URL
fi
# Printed instead of DATABASE_URL: the same without the password.
TONGXIN_DATABASE_SHOWN="$(printf '%s' "$DATABASE_URL" | sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#')"
unset tx_root tx_data
