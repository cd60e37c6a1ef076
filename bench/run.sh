#!/usr/bin/env bash
# make bench: every benchmark of docs/benchmarks.md in one bounded run on loopback,
# ending with one table of the targets (ours, what it is compared with, the
# target, met or not). Results of the run go to bin/bench/<UTC timestamp>/.
#
#   bash bench/run.sh                 all parts
#   BENCH_PARTS="micro rotation" bash bench/run.sh
#
# Parts (each stops by itself; the total was about 20 minutes on 2 cores):
#   micro     Go micro-benchmarks of ftpsd's hot paths (go test -bench)
#   peers     ftpsd against vsftpd, ProFTPD and Pure-FTPd (bench/peers; root, apt)
#   operator  1,000 FTPSServers in envtest against a plain client (bench/operator)
#   rotation  certificate swaps under 200 busy sessions (bench/rotation)
# Knobs: BENCH_PARTS, BENCH_OUT (folder), BENCH_SERVERS (1000), BENCH_COUNT
# (micro-benchmark -count, 6), and the FTPBENCH_* knobs of bench/peers/run.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PARTS=${BENCH_PARTS:-micro peers operator rotation}
OUT=${BENCH_OUT:-$ROOT/bin/bench/$(date -u +%Y%m%dT%H%M%SZ)}
SERVERS=${BENCH_SERVERS:-1000}
COUNT=${BENCH_COUNT:-6}
BENCHSTAT=$ROOT/bin/benchstat
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
mkdir -p "$OUT"

log() { printf '[%s] bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
want() { [[ " $PARTS " == *" $1 "* ]]; }

log "results go to $OUT"
go build -o bin/ftpsd ./ftpsd/cmd/ftpsd
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
  echo "go: $(go version)"
} >"$OUT/machine.txt"

if want micro; then
  [[ -x $BENCHSTAT ]] || GOBIN=$ROOT/bin go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
  log "micro-benchmarks (-count $COUNT)"
  go test -run '^$' -bench . -benchmem -count "$COUNT" -timeout 20m ./ftpsd/server/ ./ftpsd/users/ >"$OUT/micro.txt"
  "$BENCHSTAT" "$OUT/micro.txt" >"$OUT/micro-summary.txt"
fi

if want peers; then
  log "ftpsd and the peers (bench/peers; its charts land in $OUT/peers/charts)"
  FTPBENCH_RUN_DIR=$OUT/peers bash bench/peers/run.sh all
fi

if want operator; then
  log "the operator with $SERVERS FTPSServers"
  make --no-print-directory envtest build >/dev/null
  go run ./bench/operator -servers "$SERVERS" -out "$OUT/operator"
fi

if want rotation; then
  log "certificate rotation"
  go run ./bench/rotation -ftpsd bin/ftpsd -rotations 100 -sessions 200 -out "$OUT/rotation"
fi

# One table: every part's targets.tsv (measure, ours, reference, target, met).
mapfile -t tsvs < <(find "$OUT" -name targets.tsv | sort)
if ((${#tsvs[@]} == 0)); then
  log "no targets.tsv was written"
  exit 1
fi
{
  echo "| measure | ours | compared with | target | met |"
  echo "|---|---|---|---|---|"
  # Each file may start with a header row of its own.
  cat "${tsvs[@]}" | awk -F'\t' 'NF >= 5 && $1 != "measure" {printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}'
} | tee "$OUT/targets.md"
log "wrote $OUT/targets.md"
