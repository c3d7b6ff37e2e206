#!/usr/bin/env bash
# Install what the HTML report's browser test needs: Chromium from Debian's packages (when it is
# not there yet) and playwright-core from the npm registry (a driver only: it downloads no
# browser), under .tools/browser. Prints the node_modules directory. Used by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT="playwright-core@1.65.1"
DIR="$PWD/.tools/browser"
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >&2 || { apt-get update -q >&2 && apt-get install -y -q chromium >&2; }
fi
if [ ! -f "$DIR/node_modules/playwright-core/package.json" ] \
  || ! grep -q "\"version\": \"${PLAYWRIGHT#*@}\"" "$DIR/node_modules/playwright-core/package.json"; then
  echo "== installing $PLAYWRIGHT" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR"
  npm install --ignore-scripts --no-save --no-audit --no-fund --prefix "$DIR" "$PLAYWRIGHT" >&2
fi
echo "$DIR/node_modules"
