#!/usr/bin/env bash
# Builds ghostunnel (GHOSTUNNEL_VERSION) into "$1/ghostunnel-$GHOSTUNNEL_VERSION/" unless
# it is already there. Idempotent; the chain benchmark (test/bench) uses the result.
# Built from this wrapper module because the module proxy refuses version listing
# for ghostunnel (`go install ...@v` fails). Takes ~35 s cold.
set -euo pipefail

GHOSTUNNEL_VERSION=v1.8.4   # must match the require in go.mod
cache=${1:?usage: build.sh <cache dir>}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
out="$(cd "$cache" && pwd)/ghostunnel-$GHOSTUNNEL_VERSION"

if [[ -x "$out/ghostunnel" ]]; then
	exit 0
fi
mkdir -p "$out"
echo "tools/ghostunnel: building ghostunnel $GHOSTUNNEL_VERSION into $out" >&2
cd "$here"
# Write under a temporary name first so a crash never leaves a half-built binary.
# cgo stays on: v1.8.4 does not compile with CGO_ENABLED=0 (its pkcs11_disabled stub
# has the wrong signature).
GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' \
	-o "$out/.ghostunnel.tmp" github.com/ghostunnel/ghostunnel
mv "$out/.ghostunnel.tmp" "$out/ghostunnel"
