#!/usr/bin/env bash
# Builds spire-server and spire-agent (SPIRE_VERSION) into "$1/spire-$SPIRE_VERSION/"
# unless both binaries are already there. Idempotent; identity's tests use the result.
# Built from this wrapper module because the module proxy refuses version listing for
# SPIRE (`go install ...@v` fails); cgo is needed for the sqlite datastore.
set -euo pipefail

SPIRE_VERSION=v1.13.3
cache=${1:?usage: build.sh <cache dir>}
here=$(cd "$(dirname "$0")" && pwd)
out="$cache/spire-$SPIRE_VERSION"

if [[ -x "$out/spire-server" && -x "$out/spire-agent" ]]; then
	exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "building SPIRE $SPIRE_VERSION into $out (takes several minutes)" >&2
cd "$here"
for bin in spire-server spire-agent; do
	# gittag makes `--version` print the release instead of "1.13.3-dev-unk".
	# sqlite's C (the only C) at -O1 instead of cgo's default -O2: a third of the compile
	# time for a datastore that holds a handful of test entries.
	CGO_ENABLED=1 CGO_CFLAGS="-O1 -g" GOFLAGS=-mod=mod go build -trimpath \
		-ldflags="-s -w -X github.com/spiffe/spire/pkg/common/version.gittag=${SPIRE_VERSION#v}" \
		-o "$tmp/$bin" "github.com/spiffe/spire/cmd/$bin"
done
# Move into place only once both built, so a half-finished build is never mistaken
# for a cached one.
mv "$tmp/spire-server" "$tmp/spire-agent" "$out/"
"$out/spire-server" --version >&2 || true
