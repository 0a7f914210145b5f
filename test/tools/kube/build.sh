#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd (a folder usable as KUBEBUILDER_ASSETS) and the
# node binaries of test/cluster (kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy) into "$1/kube-<version>/", only those missing. Idempotent; safe to run often.
# Usage: test/tools/kube/build.sh <cachedir>   (cachedir = $RAMPART_TOOLS_DIR = <repo>/.cache/bin)
set -euo pipefail
K8S_VERSION=v1.37.0   # must match the k8s.io/kubernetes require in go.mod
ETCD_VERSION=v3.7.0   # what k8s.io/kubernetes $K8S_VERSION requires (go.etcd.io/etcd/server/v3)

here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build.sh <cachedir>}
mkdir -p "$cache"
out=$(cd "$cache" && pwd)/kube-$K8S_VERSION
bins="kube-apiserver kubectl etcd kube-controller-manager kube-scheduler kubelet kube-proxy"
missing=0
for b in $bins; do [ -x "$out/$b" ] || missing=1; done
[ "$missing" = 0 ] && exit 0
mkdir -p "$out"
cd "$here"
export GOFLAGS=-mod=readonly CGO_ENABLED=0

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
kv() {  # version ldflags for one package path, else --version prints v0.0.0-master
  echo "-X $1.gitVersion=$K8S_VERSION -X $1.gitMajor=1 -X $1.gitMinor=$minor -X $1.gitTreeState=clean"
}
ldflags="-s -w $(kv k8s.io/component-base/version) $(kv k8s.io/client-go/pkg/version)"

# One go build for every missing binary: the packages they share compile once and the
# links run side by side. Written to a temporary folder first and moved into place only
# after the build succeeded, so a crash leaves nothing half-built. (The -X flags name
# packages etcd does not link; the linker ignores them there.)
pkgs=()
for b in $bins; do
  [ -x "$out/$b" ] && continue
  case $b in etcd) pkgs+=(./etcd) ;; *) pkgs+=("k8s.io/kubernetes/cmd/$b") ;; esac
done
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "tools/kube: building ${pkgs[*]}" >&2
go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
for b in $bins; do if [ -x "$tmp/$b" ]; then mv "$tmp/$b" "$out/$b"; fi; done
echo "tools/kube: $out ready (etcd $ETCD_VERSION)" >&2
