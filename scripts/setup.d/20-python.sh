#!/usr/bin/env bash
# Python reference tools used by tests and benchmarks (independent implementations
# to compare against), in a virtual environment at .venv. Each concern lists its
# packages, pinned, in scripts/setup.d/*.pip.
set -euo pipefail
cd "$(dirname "$0")/../.."
shopt -s nullglob
reqs=(scripts/setup.d/*.pip)
[ ${#reqs[@]} -gt 0 ] || { echo "no python requirements"; exit 0; }
[ -x .venv/bin/python ] || python3 -m venv .venv
args=()
for r in "${reqs[@]}"; do args+=(-r "$r"); done
.venv/bin/pip install -q --disable-pip-version-check "${args[@]}"
echo "python reference tools installed in .venv"
