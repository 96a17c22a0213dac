#!/usr/bin/env bash
# Builds the kstatus checker (main.go: sigs.k8s.io/cli-utils' status.Compute,
# the rules Flux reads health by) into a cache outside the clone:
#   $CUTOVER_CACHE/kstatus-$CLI_UTILS_VERSION/bin/kstatus
# The version is the cli-utils requirement in go.mod. The stamp holds a hash of
# the sources, so editing main.go, go.mod or go.sum rebuilds; otherwise nothing
# is rebuilt. Prints the binary's path on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CUTOVER_CACHE:-$HOME/.cache/cutover}
die() { echo "kstatus build: $*" >&2; exit 1; }

version=$(sed -nE 's#^[[:space:]]*(require[[:space:]]+)?sigs\.k8s\.io/cli-utils[[:space:]]+(v[^[:space:]]+).*#\2#p' "$here/go.mod")
[ -n "$version" ] || die "no sigs.k8s.io/cli-utils requirement in $here/go.mod"
dir="$cache/kstatus-$version"
bin="$dir/bin/kstatus"
sources=$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1)

if [ -x "$bin" ] && [ "$(cat "$dir/.complete" 2>/dev/null)" = "$sources" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "Go is not installed and is needed for the kstatus checker; install Go >= 1.24 (apt-get install golang-go or a Go tarball) and re-run."

# Module and build caches under the cache, so a clean clone never writes to ~/go.
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
export GOSUMDB=${GOSUMDB:-sum.golang.org}
mkdir -p "$dir/bin"
log="$cache/build-kstatus.log"
echo "building kstatus with sigs.k8s.io/cli-utils $version" >&2
if ! (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$bin" .) >"$log" 2>&1; then
  why=$(grep -m1 -E 'refused|not found|unknown revision|no such host|timeout|checksum|error|cannot' "$log" || tail -n1 "$log")
  die "go build failed: ${why} (full log: $log). Check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY))."
fi
echo "$sources" >"$dir/.complete"
echo "$bin"
