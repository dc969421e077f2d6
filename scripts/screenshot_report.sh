#!/usr/bin/env bash
# Screenshot of a report page for people to look at: renders REPORT_DIR/index.html (or
# RESULTS_DIR/report/index.html) in headless Chromium, full page width, into OUT.png.
#   scripts/screenshot_report.sh runs/default/report [report.png]
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 REPORT_DIR [OUT.png]" >&2
  exit 2
fi
DIR="$(cd "$1" && pwd)"
PAGE="$DIR/index.html"
[[ -f "$PAGE" ]] || PAGE="$DIR/report/index.html"
[[ -f "$PAGE" ]] || { echo "$0: no index.html in $DIR or $DIR/report" >&2; exit 1; }
OUT="${2:-$(dirname "$PAGE")/screenshot.png}"
command -v chromium >/dev/null || { echo "$0: chromium not found (scripts/setup.sh installs it)" >&2; exit 1; }
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
# virtual-time-budget lets the charts finish rendering before the capture.
chromium --headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
  --user-data-dir="$PROFILE" --virtual-time-budget=15000 --window-size="${WIDTH:-1280},${HEIGHT:-4000}" \
  --screenshot="$(realpath -m "$OUT")" "file://$PAGE" 2>"$PROFILE/chromium.log" \
  || { cat "$PROFILE/chromium.log" >&2; exit 1; }
[[ -s "$OUT" ]] || { echo "$0: chromium wrote no screenshot" >&2; cat "$PROFILE/chromium.log" >&2; exit 1; }
echo "screenshot: $OUT"
