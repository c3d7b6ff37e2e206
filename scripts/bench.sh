#!/usr/bin/env bash
# Benchmarks on a release build and a scale-1.0 fixture. Each comparison runs both sides
# interleaved in the same run (this machine is shared and noisy) and reports medians and ratios.
#
#   scripts/bench.sh            all sections
#   scripts/bench.sh extract    only some: fixture extract
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(fixture extract)

cargo build --release --locked -q
BIN=$PWD/target/release/preflight
WORK=$(mktemp -d "${TMPDIR:-/tmp}/preflight-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
# seconds taken by a command (its output discarded)
timed() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'; }
median() { tr ' ' '\n' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
row() { printf '%-44s %10s %10s %10s\n' "$@"; }

want() { local s; for s in "${SECTIONS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

echo "preflight bench: $(nproc) cores, rounds=$ROUNDS, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
FIXTURE=$WORK/liveone-1.0.db
if want fixture; then
  times=()
  for i in $(seq "$ROUNDS"); do rm -f "$WORK/gen.db"; times+=("$(timed "$BIN" fixture --scale 1 --seed 1 --out "$WORK/gen.db")"); done
  t=$(echo "${times[*]}" | median)
  echo
  row "fixture generation, scale 1.0" "median s" "target s" "verdict"
  row "preflight fixture --scale 1 → .db" "$t" "10" "$(awk -v t="$t" 'BEGIN { print (t <= 10) ? "met" : "MISSED" }')"
  mv "$WORK/gen.db" "$FIXTURE"
fi
[ -f "$FIXTURE" ] || "$BIN" fixture --scale 1 --seed 1 --out "$FIXTURE" >/dev/null
SIZE=$(stat -c %s "$FIXTURE")

if want extract; then
  gzip -6 -c "$FIXTURE" > "$WORK/backup.db.gz"
  a=(); b=()
  for i in $(seq "$ROUNDS"); do
    a+=("$(timed sh -c "gzip -dc '$WORK/backup.db.gz' > '$WORK/gunzip.db'")")
    b+=("$(timed "$BIN" extract "$WORK/backup.db.gz")")
  done
  ta=$(echo "${a[*]}" | median); tb=$(echo "${b[*]}" | median)
  echo
  row "extract $((SIZE / 1000000)) MB (gzip -6)" "median s" "MB/s" "vs gzip"
  row "gzip -dc > file" "$ta" "$(awk -v s="$SIZE" -v t="$ta" 'BEGIN { printf "%.0f", s / t / 1e6 }')" "1.00x"
  row "preflight extract (+ sha256, integrity)" "$tb" "$(awk -v s="$SIZE" -v t="$tb" 'BEGIN { printf "%.0f", s / t / 1e6 }')" "$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.2fx", a / b }')"
  echo "target: extract at >= 2x the speed of gzip -dc"
fi
