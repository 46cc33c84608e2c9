# Sourced by scripts/setup, scripts/test and scripts/demo: build settings for one-shot builds.
# Line tables only (no full debug info) keep test binaries small and linking fast; incremental
# compilation buys nothing on a clean machine.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
# Dependencies that build scripts or macros use as well as the program (serde, strsim, ...) are
# compiled once, with the program's settings, only while a build needs them for both. Builds that
# need them for the host alone (clippy's check, the doc tests) would otherwise compile a second
# copy with the build-override settings, which differ in debug info only.
export CARGO_PROFILE_DEV_BUILD_OVERRIDE_DEBUG="${CARGO_PROFILE_DEV_BUILD_OVERRIDE_DEBUG:-$CARGO_PROFILE_DEV_DEBUG}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
