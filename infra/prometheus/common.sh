# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Paths shared by infra/prometheus/start.sh and stop.sh (sourced, not run).
#
#   <data root>/prometheus/prometheus.pid, prometheus.log, prometheus.yml, data/
# <data root> is $TONGXIN_DATA_DIR, default <repo>/.data.

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

PORT="${PROMETHEUS_PORT:-9090}"
check_port prometheus PROMETHEUS_PORT "$PORT"
HOME_DIR="$DATA_ROOT/prometheus"
PID_FILE="$HOME_DIR/prometheus.pid"
LOG="$HOME_DIR/prometheus.log"

# prometheus_pid: the server's pid when the pid file names a live prometheus process.
prometheus_pid() { live_pid "$PID_FILE" '^prometheus '; }
