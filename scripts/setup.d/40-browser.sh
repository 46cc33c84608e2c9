#!/usr/bin/env bash
# Node packages for the browser tests: playwright-core and axe-core (the browser is Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/../../tests/browser"
npm ci --no-audit --no-fund --silent
echo "browser test packages installed"
