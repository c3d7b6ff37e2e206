#!/usr/bin/env bash
# Install the migration tools whose results the tests compare with, from the npm registry, under
# .tools/migration-tools/: dbmate (its binary ships in @dbmate/linux-x64) and drizzle-kit with
# drizzle-orm and the libSQL client. Prints the lines to export. Used by scripts/test.sh.
# sqlx-cli and refinery_cli take minutes to compile: their results are recorded in the fixtures
# instead (fixtures/migrations/{sqlx,refinery}/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="dbmate@2.36.0 drizzle-kit@0.31.11 drizzle-orm@0.45.4 @libsql/client@0.18.0"
DIR="$PWD/.tools/migration-tools"
STAMP="$DIR/installed"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$PACKAGES" ] \
  || [ ! -x "$DIR/node_modules/.bin/dbmate" ] || [ ! -x "$DIR/node_modules/.bin/drizzle-kit" ]; then
  echo "== installing $PACKAGES" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR"
  # shellcheck disable=SC2086
  npm install --no-save --no-audit --no-fund --prefix "$DIR" $PACKAGES >&2
  "$DIR/node_modules/.bin/dbmate" --version >&2
  echo "$PACKAGES" > "$STAMP"
fi
echo "PREFLIGHT_DBMATE=$DIR/node_modules/.bin/dbmate"
echo "PREFLIGHT_DRIZZLE_KIT=$DIR/node_modules/.bin/drizzle-kit"
