#!/usr/bin/env bash
# Print the path of a `uv` to use, installing it for this user when there is none.
# `make run` and `make test` call this first: a fresh machine with Python 3.11+ needs nothing
# else from its owner (uv comes from the Python package index, through pip's defaults).
set -euo pipefail

if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
for candidate in "$HOME/.local/bin/uv" "$HOME/.cargo/bin/uv"; do
  if [[ -x $candidate ]]; then echo "$candidate"; exit 0; fi
done

python=$(command -v python3 || command -v python || true)
[[ -n $python ]] || { echo "ensure-uv: no python3 found: install Python 3.11+ first" >&2; exit 1; }
echo "ensure-uv: uv not found; installing it with $python -m pip --user ..." >&2
# --user keeps it out of the system Python; on Debian's externally managed Python, pip asks
# for --break-system-packages even for --user installs.
if ! "$python" -m pip install --quiet --user uv >&2 2>/dev/null; then
  "$python" -m pip install --quiet --user --break-system-packages uv >&2
fi
user_bin=$("$python" -c 'import site, os; print(os.path.join(site.getuserbase(), "bin"))')
if [[ -x $user_bin/uv ]]; then echo "$user_bin/uv"; exit 0; fi
# A pip that ignored --user (a virtualenv, a pyenv shim): uv is next to that Python.
beside=$(dirname "$("$python" -c 'import sys; print(sys.executable)')")/uv
if [[ -x $beside ]]; then echo "$beside"; exit 0; fi
found=$(command -v uv || true)
[[ -n $found ]] || { echo "ensure-uv: installed uv but cannot find it" >&2; exit 1; }
echo "$found"
