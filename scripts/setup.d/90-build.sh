#!/usr/bin/env bash
# Builds the workspace so the first run or test does not pay for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/cargo-env.sh
cargo build --workspace --bins --tests --locked 2>&1 | tail -n 3
