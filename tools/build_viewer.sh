#!/usr/bin/env bash
# Build the browser viewer (frontend/ → frontend/dist/viewer.js, viewer.css) unless it is up to date.
# `npm ci` installs the locked dev tools (esbuild) into frontend/node_modules; nothing leaves this machine
# at run time (no CDN). Called by tools/test.sh and tools/demo.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
if ! command -v npm >/dev/null; then
    echo "warning: npm not found: the viewer is not built (install nodejs and npm, e.g. apt-get install -y nodejs npm)" >&2
    exit 0
fi
stamp=dist/.build-stamp
hash=$(cat package.json package-lock.json src/* | sha256sum | cut -c1-16)
if [ -f dist/viewer.js ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
    exit 0
fi
if [ ! -x node_modules/.bin/esbuild ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build >/dev/null
echo "$hash" > "$stamp"
echo "built the viewer: frontend/dist/viewer.js ($(wc -c < dist/viewer.js) bytes)"
