#!/usr/bin/env bash
# libFuzzer runs of every parser (fuzz/*_fuzz.cc) from the seed corpora in fuzz/corpus/.
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--build-dir DIR] [--only TARGET] [replay]
# Builds the targets with clang (-fsanitize=fuzzer,address,undefined) in build-fuzz/ (no
# torch, no tests), replays tests/data/fuzz_regressions/<target>/ (every input that once
# crashed a target must now load or fail with a recfuse error), then fuzzes each target for
# N seconds (default 60). `replay` stops after the replay. New findings are written to
# build-fuzz/findings/<target>/ (crash-*, leak-*, timeout-*); copy each into
# tests/data/fuzz_regressions/<target>/ once fixed. Exit status 1 when anything was found.
#
# Longer campaigns: scripts/fuzz.sh --seconds 3600 --only atomic_fuzz (the generated corpus
# in build-fuzz/corpus/<target>/ grows across runs, so repeated runs go deeper).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_PER_TARGET=60
JOBS="${RECFUSE_JOBS:-2}"
ONLY=""
REPLAY_ONLY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET="$2"; shift ;;
    --jobs) JOBS="$2"; shift ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    replay) REPLAY_ONLY=1 ;;
    *) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/setup.sh installs it)" >&2; exit 2; }
TARGETS=()
for src in "$ROOT"/fuzz/*_fuzz.cc; do
  t="$(basename "$src" .cc)"
  [[ -z "$ONLY" || "$ONLY" == "$t" ]] && TARGETS+=("$t")
done
[[ ${#TARGETS[@]} -gt 0 ]] || { echo "fuzz.sh: no target named '$ONLY'" >&2; exit 2; }

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DRECFUSE_FUZZ=ON \
  -DRECFUSE_WITH_TORCH=OFF -DRECFUSE_BUILD_TESTS=OFF -DRECFUSE_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}"

# Leaks are findings too, but the parsers' static tables are not: detect_leaks stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
summary=()

for t in "${TARGETS[@]}"; do
  name="${t%_fuzz}"
  bin="$BUILD_DIR/fuzz/$t"
  reg="$ROOT/tests/data/fuzz_regressions/$name"
  if [[ -d "$reg" ]] && compgen -G "$reg/*" >/dev/null; then
    if "$bin" -runs=0 "$reg"/* >"$BUILD_DIR/replay-$name.log" 2>&1; then
      echo "fuzz.sh: $t: replayed $(ls "$reg" | wc -l) regression input(s): ok"
    else
      echo "fuzz.sh: $t: REGRESSION replay failed, see $BUILD_DIR/replay-$name.log" >&2
      tail -n 30 "$BUILD_DIR/replay-$name.log" >&2
      status=1
    fi
  fi
done
[[ $REPLAY_ONLY -eq 1 ]] && exit $status

for t in "${TARGETS[@]}"; do
  name="${t%_fuzz}"
  bin="$BUILD_DIR/fuzz/$t"
  work="$BUILD_DIR/corpus/$name"
  findings="$BUILD_DIR/findings/$name"
  mkdir -p "$work" "$findings"
  log="$BUILD_DIR/fuzz-$name.log"
  # The seed corpus is read-only input; new coverage goes to the work corpus (first dir).
  # -max_len 64k keeps mutations big enough for multi-file inputs; -timeout flags hangs.
  set +e
  "$bin" "$work" "$ROOT/fuzz/corpus/$name" -max_total_time="$SECONDS_PER_TARGET" \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1
  rc=$?
  set -e
  execs="$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}')"
  found="$(ls "$findings" | wc -l)"
  echo "fuzz.sh: $t: ${SECONDS_PER_TARGET}s, ${execs:-?} executions, exit $rc, findings: $found"
  summary+=("$t ${execs:-?} $found")
  if [[ $rc -ne 0 || $found -ne 0 ]]; then
    status=1
    grep -m1 -A25 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|fuzz finding|deadly signal|uncaught' "$log" >&2 || tail -n 30 "$log" >&2
  fi
done
echo "fuzz.sh: summary (target executions findings):"
printf '  %s\n' "${summary[@]}"
exit $status
