#!/usr/bin/env bash
# A/B of two ftpsd builds on the peers harness's transfers: curl moves the
# harness's 1 GiB file, RETR or STOR, PROT P or PROT C, to build A and build
# B in alternation (A, B, A, B, ...), so that a slow phase of the VM hits
# both alike. Prints, per build, the median MB/s (RETR/STOR to 226, as the
# harness measures) and the median CPU seconds per GiB of ftpsd and of curl.
#
#   bash bench/peers/ab.sh REV_A REV_B [TRANSFER] [ROUNDS]
#
# REV_*: git revisions of this repository (a commit, a branch, or "worktree"
# for the files as they are). TRANSFER: retrP | storP | retrC | storC
# (default storC); ROUNDS: default 6, at most 20. Needs the harness's state
# (`bash bench/peers/run.sh install` once, then `start ftpsd` once to create
# the user, certificates and files; `stop` before this script). Loopback
# only; each ftpsd runs on 127.0.0.1:2125 with passive ports 24000-24999 and
# is stopped by PID after each transfer.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE=${FTPBENCH_STATE:-/var/tmp/ftpbench}
A=${1:?usage: ab.sh REV_A REV_B [TRANSFER] [ROUNDS]}
B=${2:?usage: ab.sh REV_A REV_B [TRANSFER] [ROUNDS]}
TRANSFER=${3:-storC}
ROUNDS=${4:-6}
((ROUNDS >= 1 && ROUNDS <= 20)) || { echo "ROUNDS must be 1..20" >&2; exit 2; }
CONF=$STATE/run/ftpsd/ftpsd.yaml
[[ -f $CONF && -f $STATE/home/big.bin && -f $STATE/netrc ]] ||
  { echo "no harness state in $STATE: run bench/peers/run.sh install, start ftpsd, stop" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# build REV OUT: ftpsd at a git revision, built in a temporary worktree
build() {
  if [[ $1 == worktree ]]; then
    (cd "$REPO" && go build -o "$2" ./ftpsd/cmd/ftpsd)
    return
  fi
  local wt=$WORK/src-$(basename "$2")
  git -C "$REPO" worktree add -q --detach "$wt" "$1"
  (cd "$wt" && go build -o "$2" ./ftpsd/cmd/ftpsd)
  git -C "$REPO" worktree remove --force "$wt"
}
build "$A" "$WORK/ftpsd-a"
build "$B" "$WORK/ftpsd-b"
# the harness's ftpsd configuration on other ports, with PROT C allowed
sed -e 's/127.0.0.1:2124/127.0.0.1:2125/; s/23000-23999/24000-24999/; s/127.0.0.1:2180/127.0.0.1:2181/' "$CONF" |
  awk '/^  data:$/ || /^    protection:/ { next } { print } /^    cipherSuites:/ { print "  data:\n    protection: ClientChoice" }' \
    >"$WORK/ftpsd.yaml"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# once BIN: one transfer; prints "MB/s ftpsd-cpu-s curl-cpu-s"
once() {
  "$1" --config "$WORK/ftpsd.yaml" --log-level warn --credential-cache=false --sync-uploads=false \
    >"$WORK/ftpsd.log" 2>&1 &
  local pid=$! i url=ftp://127.0.0.1:2125 out c0 c1 prot=--ssl-reqd
  for ((i = 0; i < 100; i++)); do
    (exec 3<>/dev/tcp/127.0.0.1/2125) 2>/dev/null && break
    sleep 0.05
  done
  [[ $TRANSFER == *C ]] && prot=--ftp-ssl-control
  local curl=(curl -sS "$prot" -k --ftp-pasv --netrc-file "$STATE/netrc" --max-time 120)
  c0=$(cpu_ticks "$pid")
  if [[ $TRANSFER == retr* ]]; then
    out=$({ /usr/bin/time -f '%U %S' "${curl[@]}" -o /dev/null \
      -w '%{time_pretransfer} %{time_total} %{size_download}\n' "$url/big.bin"; } 2>&1)
  else
    out=$({ /usr/bin/time -f '%U %S' "${curl[@]}" -T "$STATE/home/big.bin" \
      -w '%{time_pretransfer} %{time_total} %{size_upload}\n' "$url/up/ab.bin"; } 2>&1)
    rm -f "$STATE/home/up/ab.bin"
  fi
  c1=$(cpu_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # one line: curl's "pretransfer total bytes", then time's "user sys"
  out=$(tr '\n' ' ' <<<"$out")
  awk -v t=$((c1 - c0)) '{ printf "%.0f %.2f %.2f\n", $3 / ($2 - $1) / 1e6, t / 100 * 1073741824 / $3, ($4 + $5) * 1073741824 / $3 }' <<<"$out"
}

for ((r = 1; r <= ROUNDS; r++)); do
  echo "a $(once "$WORK/ftpsd-a")" >>"$WORK/samples"
  echo "b $(once "$WORK/ftpsd-b")" >>"$WORK/samples"
done
# median V COLUMN: the median of one column of build V's samples
median() {
  awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$WORK/samples" | sort -g |
    awk '{ x[NR] = $1 } END { print x[int((NR + 1) / 2)] }'
}
for v in a b; do
  rev=$A
  [[ $v == b ]] && rev=$B
  printf '%s %s: median %s MB/s, ftpsd %s s/GiB, curl %s s/GiB (MB/s:%s)\n' "$TRANSFER" "$rev" \
    "$(median $v 2)" "$(median $v 3)" "$(median $v 4)" "$(awk -v v=$v '$1 == v { printf " %s", $2 }' "$WORK/samples")"
done
