#!/usr/bin/env bash
# Set up .venv with the dev extras, the browser and PostgreSQL used by the tests, then run the whole suite.
# Usage: bash tools/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
[ -x /usr/bin/dciodvfy ] || need_apt+=(dicom3tools)
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages for the browser/PostgreSQL tests: ${need_apt[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null) \
        || echo "warning: could not install ${need_apt[*]}; those tests will be skipped with a reason"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,bench,codecs]' 2>&1 \
    | grep -v "is ignored: it is neither" || true
bash tools/build_viewer.sh  # the browser viewer (npm ci + esbuild), skipped when up to date
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1
exec .venv/bin/python -m pytest "$@"
