#!/usr/bin/env bash
# Builds the CNCF distribution registry (REGISTRY_VERSION) into
# "$1/registry-$REGISTRY_VERSION/registry" unless it is already there. Idempotent.
# cmd/internal/images' tests push to and pull from it on loopback. Built from this
# wrapper module so distribution's dependencies stay out of the main module.
# Takes ~1-2 min cold (more on a loaded machine).
set -euo pipefail

REGISTRY_VERSION=v3.1.2   # must match the require in go.mod
cache=${1:?usage: build.sh <cache dir>}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
out="$(cd "$cache" && pwd)/registry-$REGISTRY_VERSION"

if [[ -x "$out/registry" ]]; then
	exit 0
fi
mkdir -p "$out"
echo "tools/registry: building distribution $REGISTRY_VERSION into $out" >&2
cd "$here"
# Write under a temporary name first so a crash never leaves a half-built binary.
CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
	-ldflags="-s -w -X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" \
	-o "$out/.registry.tmp" ./registry
mv "$out/.registry.tmp" "$out/registry"
