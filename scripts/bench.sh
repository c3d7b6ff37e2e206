#!/usr/bin/env bash
# Benchmarks on a release build and a scale-1.0 fixture (about 200 MB). Each comparison runs
# both sides interleaved in the same run (this machine is shared and noisy) and reports medians
# and ratios; absolute targets are printed beside them.
#
#   scripts/bench.sh                    every section
#   scripts/bench.sh migrate verify     only these: fixture extract migrate verify rehearse
#                                       memory scale fingerprint diff remote
#   ROUNDS=5 scripts/bench.sh           more rounds per measurement (default 3)
#   SCALES="0.25 1" scripts/bench.sh scale
#                                       the scales of the linear-growth section (default 0.25 1 4;
#                                       scale 4 is an ~800 MB database: one round each, ~15 min)
#   SQLITE3=/path/to/sqlite3 …          the reference shell (default: sqlite3 on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SCALES=${SCALES:-0.25 1 4}
SQLITE3=${SQLITE3:-sqlite3}
ALL=(fixture extract migrate verify rehearse memory scale fingerprint diff remote)
SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=("${ALL[@]}")
for s in "${SECTIONS[@]}"; do
  [[ " ${ALL[*]} " == *" $s "* ]] || { echo "unknown section: $s (sections: ${ALL[*]})" >&2; exit 2; }
done
command -v "$SQLITE3" >/dev/null || { echo "the reference needs the sqlite3 shell ($SQLITE3 not found)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "peak memory is measured with GNU time (/usr/bin/time not found)" >&2; exit 2; }

cargo build --release --locked -q
BIN=$PWD/target/release/preflight
REFERENCE_SQL=$PWD/scripts/bench/reference-migration.sql
WORK=$(mktemp -d "${TMPDIR:-/tmp}/preflight-bench.XXXXXX")
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# measure [-x CODE] CMD…: run CMD (output discarded), fail unless it exits with CODE (default 0),
# and print "seconds peak-KB".
measure() {
  local want=0
  if [ "$1" = -x ]; then want=$2; shift 2; fi
  local code=0
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$WORK/out" 2>&1 || code=$?
  if [ "$code" != "$want" ]; then
    echo "failed (exit $code, expected $want): $*" >&2
    tail -5 "$WORK/out" >&2
    exit 1
  fi
  tail -1 "$WORK/time"
}
secs() { cut -d' ' -f1; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { $1 }"; }
ratio() { calc "printf \"%.2f\", $1 / $2"; }
verdict() { calc "print ($1) ? \"met\" : \"MISSED\""; }
row() { printf '%-50s %10s %10s %12s\n' "$@"; }
header() { echo; row "$@"; }
want() { local s; for s in "${SECTIONS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
mb() { calc "printf \"%.0f\", $1 / 1e6"; }
count() { "$SQLITE3" "$1" "SELECT (SELECT count(*) FROM point_readings) + (SELECT count(*) FROM point_readings_agg_5m)"; }

echo "preflight bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), rounds=$ROUNDS, reference $("$SQLITE3" --version | cut -d' ' -f1-2), $(date -u +%Y-%m-%dT%H:%M:%SZ)"

FIXTURE=$WORK/liveone-1.0.db
if want fixture; then
  t=()
  for _ in $(seq "$ROUNDS"); do
    rm -f "$WORK/gen.db"
    t+=("$(measure "$BIN" fixture --scale 1 --seed 1 --out "$WORK/gen.db" | secs)")
  done
  m=$(echo "${t[*]}" | median)
  header "fixture generation, scale 1.0" "median s" "target s" "verdict"
  row "preflight fixture --scale 1 --seed 1" "$m" "10" "$(verdict "$m <= 10")"
  mv "$WORK/gen.db" "$FIXTURE"
fi
[ -f "$FIXTURE" ] || "$BIN" fixture --scale 1 --seed 1 --out "$FIXTURE" >/dev/null
SIZE=$(stat -c %s "$FIXTURE")
BACKUP=$WORK/liveone-1.0.db.gz
gzip -6 -c "$FIXTURE" >"$BACKUP"

if want extract; then
  a=(); b=()
  for _ in $(seq "$ROUNDS"); do
    a+=("$(measure sh -c "gzip -dc '$BACKUP' > '$WORK/gunzip.db'" | secs)")
    b+=("$(measure "$BIN" extract "$BACKUP" | secs)")
  done
  ta=$(echo "${a[*]}" | median); tb=$(echo "${b[*]}" | median)
  header "extract $(mb "$SIZE") MB (gzip -6 backup)" "median s" "MB/s" "vs gzip -dc"
  row "gzip -dc > file" "$ta" "$(calc "printf \"%.0f\", $SIZE / $ta / 1e6")" "1.00x"
  row "preflight extract (+ sha256, integrity check)" "$tb" "$(calc "printf \"%.0f\", $SIZE / $tb / 1e6")" "$(ratio "$ta" "$tb")x"
  echo "target: preflight extract at >= 2x the speed of gzip -dc: $(verdict "$ta / $tb >= 2")"
fi

# Both migrations: preflight against the sqlite3 shell running a plain INSERT … SELECT script.
# migrate_pair FIXTURE ROUNDS: sets SHELL_S, LOCAL_MIGRATE_S (medians), ROWS (inserted) and leaves
# the migrated copy in $MIGRATED.
MIGRATED=$WORK/migrated.db
SHELL_S=""
LOCAL_MIGRATE_S=""
ROWS=0
migrate_pair() {
  local fixture=$1 rounds=$2 a=() b=() before after
  before=$(count "$fixture")
  for i in $(seq "$rounds"); do
    cp "$fixture" "$WORK/ref.db"; cp "$fixture" "$MIGRATED"
    sync
    if [ $((i % 2)) = 1 ]; then
      a+=("$(measure "$SQLITE3" -bail "$WORK/ref.db" ".read $REFERENCE_SQL" | secs)")
      b+=("$(measure "$BIN" migrate "$MIGRATED" --yes | secs)")
    else
      b+=("$(measure "$BIN" migrate "$MIGRATED" --yes | secs)")
      a+=("$(measure "$SQLITE3" -bail "$WORK/ref.db" ".read $REFERENCE_SQL" | secs)")
    fi
  done
  after=$(count "$MIGRATED")
  [ "$after" = "$(count "$WORK/ref.db")" ] || { echo "the reference and preflight disagree on the rows" >&2; exit 1; }
  rm -f "$WORK/ref.db"
  SHELL_S=$(echo "${a[*]}" | median); LOCAL_MIGRATE_S=$(echo "${b[*]}" | median)
  ROWS=$((after - before))
}
if want migrate || want verify || want rehearse; then
  migrate_pair "$FIXTURE" "$ROUNDS"
  header "migrate both, scale 1.0 ($ROWS rows inserted)" "median s" "rows/s" "vs shell"
  row "$SQLITE3 shell: plain INSERT … SELECT script" "$SHELL_S" "$(calc "printf \"%.0f\", $ROWS / $SHELL_S")" "1.00"
  row "preflight migrate --yes (journalled, batched)" "$LOCAL_MIGRATE_S" "$(calc "printf \"%.0f\", $ROWS / $LOCAL_MIGRATE_S")" "$(ratio "$LOCAL_MIGRATE_S" "$SHELL_S")"
  echo "target: migrate <= 0.60x the shell's time: $(verdict "$LOCAL_MIGRATE_S / $SHELL_S <= 0.60")"
fi

if want verify; then
  a=(); b=(); c=(); d=()
  for _ in $(seq "$ROUNDS"); do
    a+=("$(measure "$BIN" verify "$MIGRATED" --skip-integrity | secs)")
    b+=("$(measure "$BIN" verify "$MIGRATED" | secs)")
    c+=("$(measure "$BIN" verify "$MIGRATED" --quick-integrity | secs)")
    d+=("$(measure "$SQLITE3" "$MIGRATED" "PRAGMA integrity_check" | secs)")
  done
  ta=$(echo "${a[*]}" | median); tb=$(echo "${b[*]}" | median)
  tc=$(echo "${c[*]}" | median); td=$(echo "${d[*]}" | median)
  header "verify the migrated database ($(mb "$(stat -c %s "$MIGRATED")") MB)" "median s" "vs shell" "target"
  row "preflight verify --skip-integrity (the suite alone)" "$ta" "$(ratio "$ta" "$SHELL_S")" "<= 0.15: $(verdict "$ta / $SHELL_S <= 0.15")"
  row "preflight verify (full integrity_check)" "$tb" "$(ratio "$tb" "$SHELL_S")" "<= 0.45: $(verdict "$tb / $SHELL_S <= 0.45")"
  row "preflight verify --quick-integrity" "$tc" "$(ratio "$tc" "$SHELL_S")" ""
  row "reference: $SQLITE3 PRAGMA integrity_check alone" "$td" "$(ratio "$td" "$SHELL_S")" ""
fi

if want rehearse; then
  t=()
  for _ in $(seq "$ROUNDS"); do t+=("$(measure "$BIN" rehearse "$BACKUP" | secs)"); done
  m=$(echo "${t[*]}" | median)
  header "rehearse a scale-1.0 backup end to end" "median s" "vs shell" "target"
  row "preflight rehearse BACKUP.db.gz" "$m" "$(ratio "$m" "$SHELL_S")" "<= 1.5: $(verdict "$m / $SHELL_S <= 1.5")"
fi

# Peak memory per command at scale 1.0: private (anonymous) memory sampled from /proc, and the
# kernel's peak RSS (which also counts file pages mapped into the process).
if want memory; then
  PEAK=$PWD/scripts/bench/peak-memory.py
  peak() {
    local out code
    out=$(python3 "$PEAK" "$@" 2>&1 >/dev/null | tail -1)
    code=$(echo "$out" | cut -d' ' -f4)
    case "$code" in 0|1) ;; *) echo "failed (exit $code): $*" >&2; exit 1 ;; esac
    echo "$out"
  }
  header "peak memory, scale 1.0" "private MB" "RSS MB" "target"
  mem_row() {
    local name=$1 out priv rss target=$2; shift 2
    out=$(peak "$@")
    priv=$(( $(echo "$out" | cut -d' ' -f2) / 1024 )); rss=$(( $(echo "$out" | cut -d' ' -f3) / 1024 ))
    row "$name" "$priv" "$rss" "private < 300$target: $(verdict "$priv < 300 ${target:+&& $rss < 700}")"
  }
  cp "$FIXTURE" "$WORK/mem.db"
  mem_row "preflight extract" "" "$BIN" extract "$BACKUP"
  mem_row "preflight fingerprint" "" "$BIN" fingerprint "$FIXTURE"
  mem_row "preflight migrate --yes" "" "$BIN" migrate "$WORK/mem.db" --yes
  mem_row "preflight verify" "" "$BIN" verify "$WORK/mem.db"
  mem_row "preflight diff (before, after)" "" "$BIN" diff "$FIXTURE" "$WORK/mem.db"
  mem_row "preflight rollback --yes" "" "$BIN" rollback "$WORK/mem.db" --yes
  mem_row "preflight rehearse BACKUP.db.gz" ", RSS < 700" "$BIN" rehearse "$BACKUP"
  rm -f "$WORK/mem.db"
fi

# Linear growth: one round of each command at each scale, in seconds per million rows inserted.
if want scale; then
  declare -A PER
  header "scale: seconds per million rows inserted" "scale" "rows" "s/Mrow"
  for sc in $SCALES; do
    f=$WORK/scale-$sc.db
    "$BIN" fixture --scale "$sc" --seed 1 --out "$f" >/dev/null
    gzip -1 -c "$f" >"$f.gz"
    migrate_pair "$f" 1
    v=$(measure "$BIN" verify "$MIGRATED" | secs)
    r=$(measure "$BIN" rehearse "$f.gz" | secs)
    rm -f "$f" "$f.gz"
    for cmd in reference:$SHELL_S migrate:$LOCAL_MIGRATE_S verify:$v rehearse:$r; do
      PER[${cmd%%:*},$sc]=$(calc "printf \"%.2f\", ${cmd#*:} / ($ROWS / 1e6)")
      row "  ${cmd%%:*} (${cmd#*:} s)" "$sc" "$ROWS" "${PER[${cmd%%:*},$sc]}"
    done
  done
  for cmd in reference migrate verify rehearse; do
    vals=(); for sc in $SCALES; do vals+=("${PER[$cmd,$sc]}"); done
    spread=$(echo "${vals[*]}" | tr ' ' '\n' | awk '{ a[NR] = $1; s += $1 } END { m = s / NR; lo = hi = 0; for (i in a) { d = (a[i] - m) / m; if (d < lo) lo = d; if (d > hi) hi = d } printf "%+.0f%% / %+.0f%%", 100 * lo, 100 * hi; print (lo >= -0.2 && hi <= 0.2) ? " met" : " MISSED" }')
    echo "$cmd: s per million rows ${vals[*]} (scales $SCALES); spread around the mean $spread (target within ±20%)"
  done
fi

if want fingerprint; then
  a=(); b=()
  for _ in $(seq "$ROUNDS"); do
    a+=("$(measure "$BIN" fingerprint "$FIXTURE" | secs)")
    b+=("$(measure "$SQLITE3" "$FIXTURE" ".sha3sum" | secs)")
  done
  ta=$(echo "${a[*]}" | median); tb=$(echo "${b[*]}" | median)
  header "fingerprint the scale-1.0 fixture ($(mb "$SIZE") MB)" "median s" "target s" "vs .sha3sum"
  row "preflight fingerprint" "$ta" "3" "$(ratio "$ta" "$tb")"
  row "reference: $SQLITE3 .sha3sum" "$tb" "" "1.00"
  echo "target: at most 3 s: $(verdict "$ta <= 3")"
fi

if want diff; then
  cp "$FIXTURE" "$WORK/changed.db"
  changed=$("$SQLITE3" "$WORK/changed.db" "UPDATE readings SET load_w = coalesce(load_w, 0) + 1 WHERE id % 100 = 0; SELECT changes();")
  "$BIN" diff "$FIXTURE" "$WORK/changed.db" --format json >"$WORK/diff.json" || true
  python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['result']['diff']; t=[x for x in d['tables'] if x['table']=='readings']; assert len(d['tables'])==1 and t[0]['updated']==int(sys.argv[2]), d" "$WORK/diff.json" "$changed"
  t=()
  for _ in $(seq "$ROUNDS"); do t+=("$(measure -x 1 "$BIN" diff "$FIXTURE" "$WORK/changed.db" | secs)"); done
  m=$(echo "${t[*]}" | median)
  header "row diff, two scale-1.0 databases ($changed readings updated)" "median s" "target s" "verdict"
  row "preflight diff A B" "$m" "5" "$(verdict "$m <= 5")"
fi

# Remote: a real sqld on 127.0.0.1, preloaded with the fixture; a fresh server for each migration.
start_server() {
  local dir=$WORK/server port
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
  rm -rf "$dir"; mkdir -p "$dir/dbs/default"; cp "$1" "$dir/dbs/default/data"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$SQLD" --no-welcome --db-path "$dir" --http-listen-addr "127.0.0.1:$port" >"$WORK/sqld.log" 2>&1 &
  SERVER_PID=$!
  SERVER_PORT=$port
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "sqld did not start" >&2; cat "$WORK/sqld.log" >&2; exit 1
}
if want remote; then
  SQLD=$(scripts/install-sqld.sh)
  a=(); b=(); c=(); d=()
  for _ in $(seq "$ROUNDS"); do
    cp "$FIXTURE" "$WORK/local.db"
    a+=("$(measure "$BIN" migrate "$WORK/local.db" --yes | secs)")
    start_server "$FIXTURE"
    b+=("$(measure "$BIN" migrate "http://127.0.0.1:$SERVER_PORT" --yes | secs)")
  done
  for _ in $(seq "$ROUNDS"); do
    c+=("$(measure "$BIN" verify "$WORK/local.db" | secs)")
    d+=("$(measure "$BIN" verify "http://127.0.0.1:$SERVER_PORT" | secs)")
  done
  ta=$(echo "${a[*]}" | median); tb=$(echo "${b[*]}" | median)
  tc=$(echo "${c[*]}" | median); td=$(echo "${d[*]}" | median)
  # what the client sends, through a counting relay, against the bytes of the rows inserted
  start_server "$FIXTURE"
  proxy=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 scripts/bench/count-proxy.py "$proxy" "$SERVER_PORT" "$WORK/bytes" &
  relay=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$proxy") 2>/dev/null && break; sleep 0.1; done
  measure "$BIN" migrate "http://127.0.0.1:$proxy" --yes >/dev/null
  kill -TERM "$relay"; wait "$relay" || true
  read -r sent received <"$WORK/bytes"
  row_bytes=0
  for t in point_readings point_readings_agg_5m; do
    cols=$("$SQLITE3" "$FIXTURE" "SELECT group_concat('length(quote(' || name || '))', ' + ') FROM pragma_table_info('$t')")
    top=$("$SQLITE3" "$FIXTURE" "SELECT coalesce(max(rowid), 0) FROM $t")
    n=$("$SQLITE3" "$WORK/local.db" "SELECT coalesce(sum($cols), 0) FROM $t WHERE rowid > $top")
    row_bytes=$((row_bytes + n))
  done
  header "remote: sqld on 127.0.0.1 vs a local file" "median s" "vs local" "target"
  row "preflight migrate (local file)" "$ta" "1.00" ""
  row "preflight migrate (http://127.0.0.1)" "$tb" "$(ratio "$tb" "$ta")" "<= 1.3: $(verdict "$tb / $ta <= 1.3")"
  row "preflight verify (local file)" "$tc" "1.00" ""
  row "preflight verify (http://127.0.0.1)" "$td" "$(ratio "$td" "$tc")" "<= 1.5: $(verdict "$td / $tc <= 1.5")"
  echo "bytes the client sent during the remote migration: $sent (received $received)"
  echo "bytes of the rows inserted, as SQL literals: $row_bytes"
  echo "sent / row bytes: $(calc "printf \"%.4f%%\", 100 * $sent / $row_bytes") (target < 1%: $(verdict "$sent < $row_bytes / 100"))"
fi
