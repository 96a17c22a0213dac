#!/usr/bin/env bash
# Builds helm from its Go module (helm.sh/helm/v3 has no replace lines, so
# `go install module@version` is enough) into a cache outside the clone:
#   $CUTOVER_CACHE/helm-$HELM_VERSION/bin/helm
# Nothing is rebuilt once the binary and its stamp are there. Prints the
# binary's path on stdout.
set -euo pipefail
cache=${CUTOVER_CACHE:-$HOME/.cache/cutover}
version=${HELM_VERSION:-v3.22.0}
die() { echo "helm build: $*" >&2; exit 1; }

dir="$cache/helm-$version"
bin="$dir/bin/helm"
if [ -x "$bin" ] && [ "$(cat "$dir/.complete" 2>/dev/null)" = "$version" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "Go is not installed and is needed to build helm; install Go >= 1.26 (a Go tarball) and re-run."

export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOSUMDB=${GOSUMDB:-sum.golang.org}
log="$cache/build-helm.log"
mkdir -p "$dir/bin"
# The version variables helm's own Makefile sets: without them `helm version`
# says v3.22 and `helm template` assumes Kubernetes v1.20 for
# .Capabilities.KubeVersion (the Makefile derives it from client-go: v0.N → 1.N).
if ! mod=$(go mod download -json "helm.sh/helm/v3@$version" 2>"$log"); then
  die "cannot download helm.sh/helm/v3@$version: $(tail -n1 "$log") (full log: $log). Check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY))."
fi
gomod=$(sed -nE 's/^[[:space:]]*"GoMod": "(.*)",?$/\1/p' <<<"$mod")
client_go=$(sed -nE 's#^[[:space:]]*k8s\.io/client-go[[:space:]]+v0\.([0-9]+)\..*#\1#p' "$gomod")
[ -n "$client_go" ] || die "no k8s.io/client-go requirement in $gomod"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$client_go"
done
echo "building helm $version (a few minutes on 2 cores)" >&2
if ! GOBIN="$dir/bin" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$version" >>"$log" 2>&1; then
  why=$(grep -m1 -E 'refused|not found|unknown revision|no such host|timeout|checksum|error|cannot' "$log" || tail -n1 "$log")
  die "go install failed: ${why} (full log: $log). Check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY))."
fi
echo "$version" >"$dir/.complete"
echo "$bin"
