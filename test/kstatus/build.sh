#!/usr/bin/env bash
# Builds the kstatus checker (main.go: sigs.k8s.io/cli-utils' status.Compute,
# the rules Flux reads health by) into a cache outside the clone:
#   $CUTOVER_CACHE/kstatus-$CLI_UTILS_VERSION/bin/kstatus
# The version is the cli-utils requirement in go.mod. The stamp holds a hash of
# the sources, so editing main.go, go.mod or go.sum rebuilds; otherwise nothing
# is rebuilt. Prints the binary's path on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
label="kstatus build"
# shellcheck source=../cluster/lib.sh
. "$here/../cluster/lib.sh"

version=$(sed -nE 's#^[[:space:]]*(require[[:space:]]+)?sigs\.k8s\.io/cli-utils[[:space:]]+(v[^[:space:]]+).*#\2#p' "$here/go.mod")
[ -n "$version" ] || die "no sigs.k8s.io/cli-utils requirement in $here/go.mod"
dir="$cache/kstatus-$version"
bin="$dir/bin/kstatus"
sources=$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1)

if [ -x "$bin" ] && [ "$(cat "$dir/.complete" 2>/dev/null)" = "$sources" ]; then
  echo "$bin"
  exit 0
fi
need_go "the kstatus checker" 1.24

# Module and build caches under the cache, so a clean clone never writes to ~/go.
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS=-mod=readonly
mkdir -p "$dir/bin"
echo "building kstatus with sigs.k8s.io/cli-utils $version" >&2
(cd "$here" && go_or_die kstatus go build -trimpath -ldflags "-s -w" -o "$bin" .)
echo "$sources" >"$dir/.complete"
echo "$bin"
