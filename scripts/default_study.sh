#!/usr/bin/env bash
# Setup + build + the default study on the built-in synthetic world; writes
# runs/default/report/index.html. The README's first command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_BUILD_DIR:-$ROOT/build}"
OUT="${1:-$ROOT/runs/default}"
"$ROOT/scripts/setup.sh" --build-dir "$BUILD_DIR"
"$BUILD_DIR/recfuse" run "$ROOT/experiments/default.conf" --out "$OUT"
echo "report: $OUT/report/index.html (results: $OUT/results.csv, LaTeX: $OUT/report/summary.tex)"
echo "screenshot: scripts/screenshot_report.sh $OUT/report"
