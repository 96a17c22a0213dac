#!/usr/bin/env bash
# Builds helm from its Go module (helm.sh/helm/v3 has no replace lines, so
# `go install module@version` is enough) into a cache outside the clone:
#   $CUTOVER_CACHE/helm-$HELM_VERSION/bin/helm
# Nothing is rebuilt once the binary and its stamp are there. Prints the
# binary's path on stdout.
set -euo pipefail
label="helm build"
# shellcheck source=../cluster/lib.sh
. "$(dirname "$0")/../cluster/lib.sh"
version=${HELM_VERSION:-v3.22.0}

dir="$cache/helm-$version"
bin="$dir/bin/helm"
if [ -x "$bin" ] && [ "$(cat "$dir/.complete" 2>/dev/null)" = "$version" ]; then
  echo "$bin"
  exit 0
fi
need_go helm 1.26 "a Go tarball"

export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build"
mkdir -p "$dir/bin"
# The version variables helm's own Makefile sets: without them `helm version`
# says v3.22 and `helm template` assumes Kubernetes v1.20 for
# .Capabilities.KubeVersion (the Makefile derives it from client-go: v0.N → 1.N).
go_or_die helm-download go mod download -json "helm.sh/helm/v3@$version"
gomod=$(go mod download -json "helm.sh/helm/v3@$version" | sed -nE 's/^[[:space:]]*"GoMod": "(.*)",?$/\1/p')
client_go=$(sed -nE 's#^[[:space:]]*k8s\.io/client-go[[:space:]]+v0\.([0-9]+)\..*#\1#p' "$gomod")
[ -n "$client_go" ] || die "no k8s.io/client-go requirement in $gomod"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$client_go"
done
echo "building helm $version (a few minutes on 2 cores)" >&2
GOBIN="$dir/bin" go_or_die helm go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$version"
echo "$version" >"$dir/.complete"
echo "$bin"
