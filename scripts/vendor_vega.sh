#!/usr/bin/env bash
# Refreshes reports/vendor/ from the npm registry (run by hand; the build never downloads).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack vega@5 vega-lite@5 vega-embed@6 >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
cp vega-5*/package/build/vega.min.js vega-lite-5*/package/build/vega-lite.min.js \
   vega-embed-6*/package/build/vega-embed.min.js "$ROOT/reports/vendor/"
ls "$TMP"
