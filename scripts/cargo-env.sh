# Sourced by scripts/setup, scripts/test and scripts/demo: build settings for one-shot builds.
# Line tables only (no full debug info) keep test binaries small and linking fast; incremental
# compilation buys nothing on a clean machine.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
