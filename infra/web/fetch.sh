#!/usr/bin/env bash
# Put Apache ECharts (from its WebJar on Maven Central, pinned in infra/web/pom.xml) where the
# pages are served from: libs/web/src/tongxin_web/web/static/vendor/ (every service with pages). The
# pages load it from the service itself, never from a CDN. Does nothing when it is there and
# the pom has not changed (the stamp is the pom's sha256).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENDOR=libs/web/src/tongxin_web/web/static/vendor
STAMP=.cache/web/stamp
want=$(sha256sum infra/web/pom.xml | cut -d' ' -f1)
if [[ -f $VENDOR/echarts.min.js && -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  exit 0
fi
command -v mvn >/dev/null || { echo "infra/web/fetch.sh: Maven (mvn) is needed to fetch ECharts" >&2; exit 1; }
rm -rf .cache/web/unpacked infra/web/target  # Maven skips an unpack its marker there records
mkdir -p .cache/web "$VENDOR"
mvn -q -f infra/web/pom.xml dependency:unpack-dependencies
js=$(find .cache/web/unpacked -path '*/dist/echarts.min.js' | head -1)
[[ -n $js ]] || { echo "infra/web/fetch.sh: echarts.min.js is not in the WebJar" >&2; exit 1; }
cp "$js" "$VENDOR/echarts.min.js"
lic=$(find .cache/web/unpacked -name LICENSE | head -1)
[[ -z $lic ]] || cp "$lic" "$VENDOR/ECHARTS-LICENSE"
echo "$want" > "$STAMP"
echo "ECharts $(grep -o '<echarts.version>[^<]*' infra/web/pom.xml | cut -d'>' -f2) in $VENDOR"
