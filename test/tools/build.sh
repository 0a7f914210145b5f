#!/usr/bin/env bash
# Builds every third-party test tool (test/tools/*/build.sh) into <cachedir>, only what is
# missing for its pinned version. Two lanes run side by side: kube (the biggest build by
# far) and all the others in turn, so one lane's single-threaded links and long package
# compiles overlap the other's work on a 2-core machine. A lane's output lines carry its
# name; any failed build fails the whole run, after both lanes end.
# Usage: test/tools/build.sh <cachedir>   (make tools: <repo>/.cache/bin)
set -euo pipefail
cache=${1:?usage: build.sh <cachedir>}
here=$(cd "$(dirname "$0")" && pwd)

lane() { # lane <name> <tool>...: build the tools in turn, each line prefixed with [name]
  local name=$1; shift
  (
    set -o pipefail
    for t in "$@"; do
      bash "$here/$t/build.sh" "$cache" 2>&1 | sed -u "s/^/[$name] /" || { echo "[$name] $t FAILED"; exit 1; }
    done
  )
}

others=()
for s in "$here"/*/build.sh; do
  t=$(basename "$(dirname "$s")")
  [ "$t" = kube ] || others+=("$t")
done
lane kube kube &
kube=$!
rc=0
lane tools "${others[@]}" || rc=1
wait "$kube" || rc=1
exit "$rc"
