#!/usr/bin/env bash
# Builds h2spec (H2SPEC_VERSION), the HTTP/2 conformance suite, into
# "$1/h2spec-$H2SPEC_VERSION/" unless it is already there. Idempotent;
# sidecar/internal/hbone's TestH2Spec runs it against the HBONE server.
# Built from this wrapper module so the hashes in go.sum pin what is built.
set -euo pipefail

H2SPEC_VERSION=v2.2.1   # must match the require in go.mod
cache=${1:?usage: build.sh <cache dir>}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
out="$(cd "$cache" && pwd)/h2spec-$H2SPEC_VERSION"

if [[ -x "$out/h2spec" ]]; then
	exit 0
fi
mkdir -p "$out"
echo "tools/h2spec: building h2spec $H2SPEC_VERSION into $out" >&2
cd "$here"
# Write under a temporary name first so a crash never leaves a half-built binary.
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' \
	-o "$out/.h2spec.tmp" github.com/summerwind/h2spec/cmd/h2spec
mv "$out/.h2spec.tmp" "$out/h2spec"
