#!/usr/bin/env bash
# Opt-in, outside CI: installs the Python `face_recognition` package (the enrolment-throughput
# reference of crates/face/benches/enrol.rs) into its own virtual environment. Its `dlib`
# dependency builds from source, which takes about ten minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv="${PROBITY_FACE_REF_VENV:-target/face-ref-venv}"
if ! dpkg-query -W -f='${Status}' cmake 2>/dev/null | grep -q 'install ok installed'; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends cmake build-essential
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check \
  dlib==19.24.6 face-recognition==1.3.0 face-recognition-models==0.3.0 pillow numpy
"$venv/bin/python" -c "import face_recognition, dlib; print('face_recognition ready, dlib', dlib.__version__)"
