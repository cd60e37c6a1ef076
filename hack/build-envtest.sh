#!/usr/bin/env bash
# Builds the control-plane binaries envtest needs (kube-apiserver, etcd, and
# optionally kube-controller-manager) from the Go module proxy at pinned
# versions, into bin/k8s/<k8s-version>/. Nothing is downloaded from anywhere
# else. A binary already present is not rebuilt. kube-controller-manager and
# kubectl are for the end-to-end stack (make test-e2e, make demo).
#
#   hack/build-envtest.sh                      # kube-apiserver + etcd
#   hack/build-envtest.sh kube-controller-manager
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.7.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${ENVTEST_DIR:-$root/bin/k8s/$K8S_VERSION}"
mkdir -p "$out"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver etcd)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS="-mod=mod" CGO_ENABLED=0

# k8s.io/kubernetes points its staging modules at ./staging/src/...; a module
# that depends on it must replace each of them with its published release.
kubernetes_wrapper() {
  local dir="$work/kubernetes"
  [ -f "$dir/go.mod" ] && { echo "$dir"; return; }
  mkdir -p "$dir"
  local modfile
  modfile="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  {
    echo "module envtest.local/kubernetes"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 v0.'"${K8S_VERSION#1.}"'#p' "$modfile"
    echo ")"
  } >"$dir/go.mod"
  (cd "$dir" && go mod download k8s.io/kubernetes >/dev/null && go get "k8s.io/kubernetes@v$K8S_VERSION" >&2)
  echo "$dir"
}

build_k8s() {
  local name="$1" dir
  dir="$(kubernetes_wrapper)"
  echo ">> building $name v$K8S_VERSION" >&2
  (cd "$dir" && go get "k8s.io/kubernetes/cmd/$name@v$K8S_VERSION" >&2 && \
    go build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
      -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*} \
      -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)" \
      -o "$out/$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv "$out/$name.tmp" "$out/$name"
}

build_etcd() {
  local dir="$work/etcd"
  echo ">> building etcd v$ETCD_VERSION" >&2
  mkdir -p "$dir"
  # The server module's root package is etcd's main package; its own replace
  # lines point at sibling folders, so require the published releases instead.
  cat >"$dir/go.mod" <<MOD
module envtest.local/etcd

go 1.26.0
MOD
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2 && \
    go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$out/etcd.tmp" "$out/etcd"
}

for c in "${components[@]}"; do
  if [ -x "$out/$c" ]; then
    echo ">> $c present in $out" >&2
    continue
  fi
  case "$c" in
    etcd) build_etcd ;;
    kube-apiserver|kube-controller-manager|kubectl) build_k8s "$c" ;;
    *) echo "unknown component $c" >&2; exit 2 ;;
  esac
done
echo "$out"
