#!/usr/bin/env bash
# Browser tests: Playwright (playwright-core) driving Debian's Chromium against `probity demo`.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v /usr/bin/chromium >/dev/null || { echo "chromium is not installed: run scripts/setup" >&2; exit 1; }
[ -d tests/browser/node_modules/playwright-core ] || { echo "playwright-core is not installed: run scripts/setup" >&2; exit 1; }
# The same selection as scripts/setup's build, so this is a no-op after it (see 10-doctests.sh).
cargo build --workspace --bins --tests --locked --quiet
node tests/browser/run.mjs target/debug/probity
