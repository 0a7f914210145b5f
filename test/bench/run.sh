#!/usr/bin/env bash
# Reproduces the chain benchmark table (README): builds rampart-proxy and ghostunnel,
# checks haproxy/nginx/wrk, and runs test/bench once (about 5 minutes with defaults).
# Extra arguments go to the bench program, e.g. `test/bench/run.sh -reps 5 -out table.md`.
# Run it on a quiet machine: other load shows up as latency and lost rps.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${RAMPART_TOOLS_DIR:-$PWD/.cache/bin}
for tool in haproxy nginx wrk; do
	PATH=$PATH:/usr/sbin command -v "$tool" >/dev/null || { echo "bench: $tool missing (make deps)" >&2; exit 1; }
done
bash test/tools/ghostunnel/build.sh "$cache"
mkdir -p bin
go build -o bin/rampart-proxy ./cmd/rampart-proxy
exec go run ./test/bench -rampart-proxy bin/rampart-proxy \
	-ghostunnel "$cache/ghostunnel-v1.8.4/ghostunnel" \
	-haproxy "$(PATH=$PATH:/usr/sbin command -v haproxy)" -nginx "$(PATH=$PATH:/usr/sbin command -v nginx)" "$@"
