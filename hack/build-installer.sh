#!/usr/bin/env bash
# Writes $DIST/install.yaml: config/default (namespace, CRDs, RBAC, the
# manager Deployment and its metrics Service) with the manager image set to
# $IMG and the manager told to run ftpsd pods from $FTPSD_IMG, so that one
# file installs one matching pair of versions.
#
#   IMG=registry.example.com/ftps-operator:v0.2.0 FTPSD_IMG=registry.example.com/ftpsd:v0.2.0 \
#   KUBECTL=bin/k8s/1.37.2/kubectl DIST=dist hack/build-installer.sh
set -euo pipefail
: "${IMG:?IMG (the manager image) is required}" "${FTPSD_IMG:?FTPSD_IMG is required}"
: "${KUBECTL:?KUBECTL (a kubectl with kustomize) is required}" "${DIST:?DIST (output folder) is required}"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The overlay lives inside the repository: kustomize refuses bases outside
# its own folder tree unless told otherwise.
mkdir -p "$root/bin"
work=$(mktemp -d "$root/bin/installer.XXXXXX")
trap 'rm -rf "$work"' EXIT

# kustomize wants the image as name plus tag or digest.
image_fields() {
  local ref=$1 last=${1##*/}
  if [[ $ref == *@* ]]; then
    printf '  newName: %s\n  digest: %s\n' "${ref%@*}" "${ref#*@}"
  elif [[ $last == *:* ]]; then
    printf '  newName: %s\n  newTag: %s\n' "${ref%:*}" "${last##*:}"
  else
    printf '  newName: %s\n' "$ref"
  fi
}

{
  echo "resources:"
  echo "- $(realpath --relative-to="$work" "$root/config/default")"
  echo "images:"
  echo "- name: ghcr.io/ftps-operator/ftps-operator"
  image_fields "$IMG"
  cat <<YAML
patches:
- target: {kind: Deployment, name: ftps-operator-controller-manager}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/args/-
      value: --ftpsd-image=${FTPSD_IMG}
YAML
} >"$work/kustomization.yaml"

mkdir -p "$DIST"
"$KUBECTL" kustomize "$work" >"$DIST/install.yaml.tmp"
mv "$DIST/install.yaml.tmp" "$DIST/install.yaml"
echo "wrote $DIST/install.yaml (manager $IMG, ftpsd $FTPSD_IMG)" >&2
