#!/usr/bin/env bash
# Setup + build + the default study on the built-in synthetic world; writes
# runs/default/report/index.html. The README's first command.
# The grid runs as two shards at once, one thread each (experiments/default.conf says why),
# into one folder; `recfuse merge` then writes results.csv and the report as one unsharded
# run would have. Rerunning resumes: finished cells are skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_BUILD_DIR:-$ROOT/build}"
OUT="${1:-$ROOT/runs/default}"
SHARDS="${RECFUSE_SHARDS:-2}"
"$ROOT/scripts/setup.sh" --build-dir "$BUILD_DIR"
start=$(date +%s)
pids=()
for ((i = 0; i < SHARDS; i++)); do
  # Shard 0 logs to the terminal, the others to OUT/shard<i>.log.
  if ((i == 0)); then
    "$BUILD_DIR/recfuse" run "$ROOT/experiments/default.conf" --out "$OUT" --shard "$i/$SHARDS" --no-report &
  else
    mkdir -p "$OUT"
    "$BUILD_DIR/recfuse" run "$ROOT/experiments/default.conf" --out "$OUT" --shard "$i/$SHARDS" --no-report \
      > "$OUT/shard$i.log" 2>&1 &
  fi
  pids+=($!)
done
status=0
for ((i = 0; i < SHARDS; i++)); do
  if ! wait "${pids[$i]}"; then
    echo "default_study: shard $i/$SHARDS failed$( ((i > 0)) && echo "; see $OUT/shard$i.log")" >&2
    status=1
  fi
done
((status == 0)) || exit 1
"$BUILD_DIR/recfuse" merge "$OUT"
echo "default_study: study took $(( $(date +%s) - start )) s on $SHARDS shard(s)"
echo "report: $OUT/report/index.html (results: $OUT/results.csv, LaTeX: $OUT/report/summary.tex)"
echo "screenshot: scripts/screenshot_report.sh $OUT/report"
