#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZ_TIME each (default 10s),
# one after another. Crashers are written under the package's
# testdata/fuzz/<Target>/ by go test; commit them as regression seeds.
#
#   hack/fuzz.sh                 # all targets, 10s each (what CI runs)
#   FUZZ_TIME=10m hack/fuzz.sh   # the long run documented in docs/
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZ_TIME:-10s}"

ran=0
for pkg in $(go list ./...); do
  dir="$(go list -f '{{.Dir}}' "$pkg")"
  grep -qs '^func Fuzz' "$dir"/*_test.go || continue
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo ">> $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg"
    ran=$((ran + 1))
  done
done
[ "$ran" -gt 0 ] || { echo "no fuzz targets found" >&2; exit 1; }
echo "$ran fuzz targets ran for $fuzztime each, no crash"
