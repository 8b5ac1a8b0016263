#!/usr/bin/env bash
# Set up .venv and launch the review workspace on the bundled (generated) demo studies.
# Usage: bash tools/demo.sh [radreview serve args...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "is ignored: it is neither" || true
bash tools/build_viewer.sh  # the browser viewer (npm ci + esbuild), skipped when up to date
exec .venv/bin/radreview serve --demo "$@"
