# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Paths and helpers shared by infra/zipkin/start.sh and stop.sh (sourced, not run).
#
#   <repo>/.cache/zipkin/lib/         the server's executable jar, fetched by Maven (git-ignored)
#   <repo>/.cache/zipkin/pom.sha256   stamp: sha256 of the pom.xml the jar was fetched for
#   <data root>/zipkin/zipkin.pid, zipkin.log
# <data root> is $TONGXIN_DATA_DIR, default <repo>/.data.

ZIPKIN_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$ZIPKIN_SCRIPT_DIR/../lib/common.sh"  # REPO_ROOT, DATA_ROOT and the shared helpers

ZIPKIN_PORT="${ZIPKIN_PORT:-9411}"
check_port zipkin ZIPKIN_PORT "$ZIPKIN_PORT"

ZIPKIN_HOME="$DATA_ROOT/zipkin"
ZIPKIN_PID_FILE="$ZIPKIN_HOME/zipkin.pid"
ZIPKIN_LOG="$ZIPKIN_HOME/zipkin.log"

CACHE_DIR="$REPO_ROOT/.cache/zipkin"
LIB_DIR="$CACHE_DIR/lib"

# zipkin_pid: the server's pid when the pid file names a live zipkin-server java process.
zipkin_pid() { live_pid "$ZIPKIN_PID_FILE" 'zipkin-server'; }
