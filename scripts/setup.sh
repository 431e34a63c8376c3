#!/usr/bin/env bash
# Create .venv with the locked dependencies and callqa itself (editable).
# Usage: scripts/setup.sh [test] [ray] [oidc] [samples]   extra lock sets to add
# Each requirements/<extra>.lock is compiled against base.lock, so any mix agrees.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
[ -x .venv/bin/python ] || python3 -m uv venv --quiet --python "$(command -v python3)" .venv
locks=(-r requirements/base.lock)
for extra in "$@"; do locks+=(-r "requirements/$extra.lock"); done
python3 -m uv pip install --quiet --python .venv/bin/python "${locks[@]}"
python3 -m uv pip install --quiet --python .venv/bin/python --no-deps -e .
