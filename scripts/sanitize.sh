#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the non-torch libraries and their
# tests (framework, datasets, models, eval, experiments, reports, cli), run with ctest.
#   scripts/sanitize.sh [--build-dir DIR] [ctest args...]
# gcc; build-asan/ by default. Any ASan/UBSan report fails the test that triggered it
# (UB is built with -fno-sanitize-recover, so it aborts instead of printing on).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_ASAN_BUILD_DIR:-$ROOT/build-asan}"
if [[ "${1:-}" == "--build-dir" ]]; then BUILD_DIR="$2"; shift 2; fi

# RelWithDebInfo: -O2 keeps the suite fast enough for CI, -g gives reports line numbers.
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRECFUSE_SANITIZE=ON -DRECFUSE_WITH_TORCH=OFF -DRECFUSE_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "${RECFUSE_JOBS:-2}"

# detect_leaks: a leak in a parser or the runner is a finding like any other.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${RECFUSE_JOBS:-2}" "$@"
