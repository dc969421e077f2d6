#!/usr/bin/env bash
# Runs every benchmark (Release build) and the whole-pipeline bench; fails if libtorch runs
# on a slow BLAS. Figures go to bench-results/ (JSON per bench) and stdout.
#   scripts/bench.sh [--quick]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_BUILD_DIR:-$ROOT/build}"
OUT="$ROOT/bench-results"
MIN_GFLOPS="${RECFUSE_MIN_GFLOPS:-15}"
"$ROOT/scripts/setup.sh" --build-dir "$BUILD_DIR"
mkdir -p "$OUT"
for b in "$BUILD_DIR"/bench/*_bench; do
  name="$(basename "$b")"
  echo "== $name"
  "$b" --benchmark_out="$OUT/$name.json" --benchmark_out_format=json --benchmark_counters_tabular=true
done
# A reference BLAS makes every neural model ~10x slower: catch it here.
gflops="$(python3 -c "
import json
d = json.load(open('$OUT/torch_blas_bench.json'))
print(max(b.get('GFLOPs', 0) for b in d['benchmarks'] if b['name'].startswith('BM_TorchMatmul1024')) / 1e0)
" 2>/dev/null || echo 0)"
echo "libtorch 1024^2 matmul: $gflops GFLOP/s (floor $MIN_GFLOPS)"
python3 -c "import sys; sys.exit(0 if float('$gflops') >= float('$MIN_GFLOPS') else 1)" || {
  echo "bench: libtorch BLAS is slow ($gflops GFLOP/s): is libopenblas0-pthread installed and selected?" \
       "(update-alternatives --display libblas.so.3-x86_64-linux-gnu)" >&2
  exit 1
}
"$ROOT/scripts/bench_pipeline.sh"
