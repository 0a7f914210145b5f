#!/usr/bin/env bash
# Builds CoreDNS (COREDNS_VERSION) into "$1/coredns-$COREDNS_VERSION/" unless it is
# there. Idempotent; the cluster DNS of test/cluster.
set -euo pipefail
COREDNS_VERSION=v1.14.7   # must match the require in go.mod
cache=${1:?usage: build.sh <cache dir>}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
out="$(cd "$cache" && pwd)/coredns-$COREDNS_VERSION"
[[ -x "$out/coredns" ]] && exit 0
mkdir -p "$out"
cd "$here"
echo "tools/coredns: building coredns $COREDNS_VERSION" >&2
GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$out/.coredns.tmp" ./coredns
mv "$out/.coredns.tmp" "$out/coredns"
