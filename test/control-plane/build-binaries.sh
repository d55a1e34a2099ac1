#!/usr/bin/env bash
# Provides kube-apiserver, kube-controller-manager and etcd for the operator's
# tests, the way controller-runtime's envtest expects them:
#   - KUBEBUILDER_ASSETS set and holding the binaries: use them as they are;
#   - otherwise build them from the Go module proxy (no other download exists
#     here) into a cache outside the repository, keyed by version, and reuse
#     the cache on later runs.
# Prints the directory that holds the three binaries.
#
# k8s.io/kubernetes cannot be built as a dependency directly: its go.mod
# replaces every staging module (k8s.io/api, k8s.io/apiserver, ...) with a
# ./staging path. A wrapper module pins each of them to the published v0.x
# release instead (see ../shared/notes/control-plane.md).
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
BINARIES=(kube-apiserver kube-controller-manager etcd)

have_all() {
  local dir="$1"
  for binary in "${BINARIES[@]}"; do [ -x "$dir/$binary" ] || return 1; done
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if have_all "$KUBEBUILDER_ASSETS"; then echo "$KUBEBUILDER_ASSETS"; exit 0; fi
  echo "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks one of: ${BINARIES[*]}" >&2
  exit 1
fi

cache="${OCSP_STAPLER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocsp-stapler}/control-plane/k8s-v${KUBERNETES_VERSION}-etcd-v${ETCD_VERSION}"
if have_all "$cache"; then echo "$cache"; exit 0; fi
command -v go >/dev/null || { echo "building the control plane needs Go (https://go.dev/dl/) or KUBEBUILDER_ASSETS" >&2; exit 1; }

mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS="-mod=mod" GOTOOLCHAIN=local

build_kubernetes() {
  local module="$work/kubernetes" minor="${KUBERNETES_VERSION#*.}"; minor="${minor%%.*}"
  mkdir -p "$module"
  cd "$module"
  go mod init ocsp-stapler.io/test-control-plane >/dev/null 2>&1
  go mod download "k8s.io/kubernetes@v${KUBERNETES_VERSION}"
  # Pin every staging module that k8s.io/kubernetes replaces with ./staging/... to its published v0.<minor>.<patch>.
  local staging
  staging="$(sed -n '/^replace (/,/^)/p' "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v${KUBERNETES_VERSION}.mod" | awk '$3 ~ /^\.\/staging/ {print $1}')"
  {
    echo "require k8s.io/kubernetes v${KUBERNETES_VERSION}"
    for name in $staging; do echo "replace $name => $name v0.${KUBERNETES_VERSION#*.}"; done
  } >> go.mod
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  go mod tidy >&2
  local stamp="-X k8s.io/component-base/version.gitVersion=v${KUBERNETES_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor}"
  for command in kube-apiserver kube-controller-manager; do
    echo "building $command v${KUBERNETES_VERSION} (a cold build takes minutes)" >&2
    go build -ldflags "$stamp" -o "$cache/$command" "k8s.io/kubernetes/cmd/$command"
  done
}

build_etcd() {
  local module="$work/etcd"
  mkdir -p "$module"
  cd "$module"
  go mod init ocsp-stapler.io/test-etcd >/dev/null 2>&1
  echo "require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}" >> go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy >&2
  echo "building etcd v${ETCD_VERSION}" >&2
  go build -o "$cache/etcd" go.etcd.io/etcd/server/v3
}

# Test files may run in parallel: one builds, the others wait for it and reuse its result.
exec 9>"$cache/.lock"
flock 9
have_all "$cache" || { build_etcd; build_kubernetes; }
echo "$cache"
