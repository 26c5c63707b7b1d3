#!/usr/bin/env bash
# Validate <repo>/docker-compose.yml without a Docker engine: `docker-compose
# config -q` parses the file, checks it against the Compose schema and
# resolves it, no daemon needed. Installs Debian's docker-compose when missing
# (root only); a `docker compose` (v2 plugin) is used when that is all there is.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSE_FILE="$REPO_ROOT/docker-compose.yml"

if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "check-compose: installing docker-compose from Debian packages ..."
  export DEBIAN_FRONTEND=noninteractive
  # Another process may be installing packages: wait for the dpkg/apt lock.
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q docker-compose
  compose=(docker-compose)
else
  echo "check-compose: docker-compose not found; install it (e.g. 'sudo apt-get install -y docker-compose')" >&2
  exit 1
fi

# The secrets come from the environment (`${VAR:?…}`): validate with stand-ins, and check that
# the file refuses to resolve without them and that nothing trusts a login without a password.
secrets=(POSTGRES_PASSWORD REGISTRY_PSEUDONYM_SECRET TONGXIN_KEYRING_DIR)
for var in "${secrets[@]}"; do
  if (unset "$var"; export POSTGRES_PASSWORD=x REGISTRY_PSEUDONYM_SECRET=x TONGXIN_KEYRING_DIR=/x
      unset "$var"; "${compose[@]}" -f "$COMPOSE_FILE" config -q) >/dev/null 2>&1; then
    echo "check-compose: $COMPOSE_FILE resolves without $var; it must come from the environment" >&2
    exit 1
  fi
done
if grep -nE '^[^#]*\btrust\b' "$COMPOSE_FILE" >&2; then
  echo "check-compose: $COMPOSE_FILE trusts logins without a password (line above)" >&2
  exit 1
fi
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-check-only}" \
  REGISTRY_PSEUDONYM_SECRET="${REGISTRY_PSEUDONYM_SECRET:-check-only-not-a-secret-at-all-000}" \
  TONGXIN_KEYRING_DIR="${TONGXIN_KEYRING_DIR:-/check-only/keyring}" \
  "${compose[@]}" -f "$COMPOSE_FILE" config -q
echo "check-compose: $COMPOSE_FILE is valid (${compose[*]}); its secrets come from the environment"
