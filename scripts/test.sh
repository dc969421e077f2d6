#!/usr/bin/env bash
# Setup + build + every test (ctest). The README's second command; .ci/run calls it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh" --build-dir "$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${RECFUSE_JOBS:-2}" "$@"
