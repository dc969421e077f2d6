#!/usr/bin/env bash
# Whole-pipeline bench: wall time and peak memory of the default study from scratch
# (generate the synthetic world, 10 cells, report), and of the ml-100k classic sweep.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_BUILD_DIR:-$ROOT/build}"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
run() {
  local label="$1"; shift
  /usr/bin/time -f "$label: %e s wall, %M KB peak RSS" "$@" --log-level warn >/dev/null
}
run "default study (synthetic, from scratch)" "$BUILD_DIR/recfuse" run "$ROOT/experiments/default.conf" --out "$TMP/default" --cache-dir none
if [[ -d "$ROOT/../shared/datasets/ml-100k" ]]; then
  run "ml-100k classic sweep (18 cells)" "$BUILD_DIR/recfuse" run "$ROOT/experiments/ml100k_classic.conf" --out "$TMP/ml100k" --cache-dir none
else
  echo "ml-100k sweep skipped: ../shared/datasets/ml-100k absent"
fi
