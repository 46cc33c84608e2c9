#!/usr/bin/env bash
# Doc tests (nextest does not run them). The face crate's compile-fail examples prove that no
# probe template can be put into the repository index by any code path (FR-03).
set -euo pipefail
cd "$(dirname "$0")/../.."
# Workspace-wide, so the dependency features are those of the build above and nothing is
# compiled again (a `-p` selection resolves other features and rebuilds the dependencies).
cargo test --workspace --locked --doc
