#!/usr/bin/env bash
# docs/api.md from the Go types. crd-ref-docs reads the whole module, so that
# the FTPSPolicy spec's types (defined in ftpsd/config) are documented with the
# API; it then describes the group with the first package it met, so the
# group's text is taken from a run over api/v1alpha1 alone.
set -euo pipefail
crd_ref_docs=$1 out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$crd_ref_docs" --source-path=. --config=hack/crd-ref-docs.yaml --renderer=markdown --output-path="$tmp/all.md" >/dev/null
"$crd_ref_docs" --source-path=api/v1alpha1 --config=hack/crd-ref-docs.yaml --renderer=markdown --output-path="$tmp/api.md" >/dev/null
# The group's text: the lines after its heading, up to "### Resource Types".
awk '/^## ftps\.dev\/v1alpha1$/ {on=1; next} /^### Resource Types$/ {on=0} on' "$tmp/api.md" >"$tmp/group.txt"
awk -v group="$tmp/group.txt" '
  /^## ftps\.dev\/v1alpha1$/ { print; while ((getline line < group) > 0) print line; skip=1; next }
  /^### Resource Types$/ { skip=0 }
  !skip' "$tmp/all.md" >"$out"
