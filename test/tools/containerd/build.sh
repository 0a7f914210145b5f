#!/usr/bin/env bash
# Builds containerd and containerd-shim-runc-v2 (CONTAINERD_VERSION) into
# "$1/containerd-$CONTAINERD_VERSION/" unless they are there. Idempotent. cgo stays off:
# btrfs is the only cgo part and the cluster does not use it (the upstream Makefile
# builds the shim static too). runc itself needs cgo and comes from Debian (.ci/deps).
set -euo pipefail
CONTAINERD_VERSION=v2.2.9   # must match the require in go.mod
cache=${1:?usage: build.sh <cache dir>}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
out="$(cd "$cache" && pwd)/containerd-$CONTAINERD_VERSION"
[[ -x "$out/containerd" && -x "$out/containerd-shim-runc-v2" ]] && exit 0
mkdir -p "$out"
cd "$here"
export GOFLAGS=-mod=readonly CGO_ENABLED=0
ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
for b in containerd containerd-shim-runc-v2; do
	[[ -x "$out/$b" ]] && continue
	echo "tools/containerd: building $b $CONTAINERD_VERSION" >&2
	go build -trimpath -tags no_btrfs -ldflags "$ldflags" -o "$out/.$b.tmp" "github.com/containerd/containerd/v2/cmd/$b"
	mv "$out/.$b.tmp" "$out/$b"
done
