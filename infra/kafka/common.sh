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
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$KAFKA_SCRIPT_DIR/../lib/common.sh"  # REPO_ROOT, DATA_ROOT and the shared helpers

KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
check_port kafka KAFKA_PORT "$KAFKA_PORT"
check_port kafka KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"

KAFKA_HOME="$DATA_ROOT/kafka"
KAFKA_LOG_DIRS="$KAFKA_HOME/data"
KAFKA_LOGS="$KAFKA_HOME/logs"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_PID_FILE="$KAFKA_HOME/kafka.pid"

CACHE_DIR="$REPO_ROOT/.cache/kafka"
LIB_DIR="$CACHE_DIR/lib"
STAMP_FILE="$CACHE_DIR/pom.sha256"

# kafka_pid: print the broker's pid if the pid file names a live kafka.Kafka process.
kafka_pid() { live_pid "$KAFKA_PID_FILE" 'kafka\.Kafka'; }
