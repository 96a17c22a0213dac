#!/usr/bin/env bash
# Builds the local control plane from Go modules into a cache outside the clone:
#   $CUTOVER_CACHE/k8s-$K8S_VERSION/bin/{kube-apiserver,kube-controller-manager,kube-scheduler}
#   $CUTOVER_CACHE/etcd-$ETCD_VERSION/bin/etcd
#   $CUTOVER_CACHE/kwok-$KWOK_VERSION/bin/{kwok,kwokctl}
#   $CUTOVER_CACHE/gateway-api-$GATEWAY_API_VERSION/crds/*.yaml
#   $CUTOVER_CACHE/versitygw-$VERSITYGW_VERSION/bin/versitygw (an S3 server, for backup tests)
# A component whose directory holds a .complete stamp is not rebuilt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
label="cluster build"
# shellcheck source=lib.sh
. "$here/lib.sh"

# A component is cached when its stamp is there and so is every file it names;
# a stamp without its binaries (a half-cleaned cache) means build again.
cached() { # DIR FILE...
  local dir=$1; shift
  [ -f "$dir/.complete" ] || return 1
  local f
  for f in "$@"; do [ -s "$dir/$f" ] || { echo "cache $dir is stale ($f missing): rebuilding" >&2; rm -f "$dir/.complete"; return 1; }; done
}

# Staging modules are pinned with replace lines derived from the module's own
# go.mod, so a version bump never leaves the list out of date.
replace_lines() { # GOMOD_FILE PREFIX_RE VERSION
  sed -nE "s#^[[:space:]]*(${2}[^ ]*) => \.\.?/.*#replace \1 => \1 ${3}#p" "$1" | grep -v FORBIDDEN || true
}

build_k8s() {
  local dir="$cache/k8s-$K8S_VERSION"
  cached "$dir" bin/kube-apiserver bin/kube-controller-manager bin/kube-scheduler && return 0
  need_go "Kubernetes $K8S_VERSION" 1.25
  echo "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION (cold: 15-30 min on 2 cores)"
  local mod="$dir/mod"; mkdir -p "$mod" "$dir/bin"
  go_or_die k8s-download go mod download -json "k8s.io/kubernetes@$K8S_VERSION"
  local gomod; gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -nE 's/.*"GoMod": "(.*)".*/\1/p')
  local goversion; goversion=$(sed -nE 's/^go ([0-9.]+).*/\1/p' "$gomod")
  local staging="v0.${K8S_VERSION#v1.}"
  {
    echo "module cutover.local/k8s"
    echo "go $goversion"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    replace_lines "$gomod" 'k8s\.io/' "$staging"
  } >"$mod/go.mod"
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$mod" && go_or_die k8s-build go build -trimpath -ldflags "$ld" -o "$dir/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)
  touch "$dir/.complete"
}

build_etcd() {
  local dir="$cache/etcd-$ETCD_VERSION"
  cached "$dir" bin/etcd && return 0
  need_go "etcd $ETCD_VERSION" 1.25
  echo "building etcd $ETCD_VERSION"
  local mod="$dir/mod"; mkdir -p "$mod" "$dir/bin"
  go_or_die etcd-download go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  local gomod; gomod=$(go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" | sed -nE 's/.*"GoMod": "(.*)".*/\1/p')
  local goversion; goversion=$(sed -nE 's/^go ([0-9.]+).*/\1/p' "$gomod")
  {
    echo "module cutover.local/etcd"
    echo "go $goversion"
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    replace_lines "$gomod" 'go\.etcd\.io/etcd/' "$ETCD_VERSION"
  } >"$mod/go.mod"
  (cd "$mod" && go_or_die etcd-build go build -trimpath -ldflags "-s -w" -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3)
  touch "$dir/.complete"
}

build_kwok() {
  local dir="$cache/kwok-$KWOK_VERSION"
  cached "$dir" bin/kwok bin/kwokctl stage/pod/fast/pod-ready.yaml && return 0
  need_go "KWOK $KWOK_VERSION" 1.25
  echo "building kwok and kwokctl $KWOK_VERSION"
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" go_or_die kwok-build go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  # The default stages ship inside the module; keep a copy beside the binaries.
  local src; src=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -nE 's/.*"Dir": "(.*)".*/\1/p')
  rm -rf "$dir/stage"; cp -r "$src/kustomize/stage" "$dir/stage"; chmod -R u+w "$dir/stage"
  touch "$dir/.complete"
}

fetch_gateway_api() {
  local dir="$cache/gateway-api-$GATEWAY_API_VERSION"
  cached "$dir" crds/gateway.networking.k8s.io_httproutes.yaml && return 0
  need_go "the Gateway API CRDs $GATEWAY_API_VERSION" 1.25
  go_or_die gateway-api-download go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
  local src; src=$(go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -nE 's/.*"Dir": "(.*)".*/\1/p')
  rm -rf "$dir/crds"; mkdir -p "$dir/crds"
  cp "$src"/config/crd/standard/*.yaml "$dir/crds/"; chmod -R u+w "$dir/crds"
  touch "$dir/.complete"
}

# The S3-compatible server backup tests store into: versitygw's posix backend
# serves a local directory as buckets, one static binary, no container.
build_s3() {
  local dir="$cache/versitygw-$VERSITYGW_VERSION"
  cached "$dir" bin/versitygw && return 0
  need_go "versitygw $VERSITYGW_VERSION" 1.25
  echo "building versitygw $VERSITYGW_VERSION"
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" go_or_die versitygw-build go install -trimpath -ldflags "-s -w" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  touch "$dir/.complete"
}

what=${1:-all}
case $what in
  all) fetch_gateway_api; build_kwok; build_etcd; build_k8s; build_s3 ;;
  k8s) build_k8s ;; etcd) build_etcd ;; kwok) build_kwok ;; gateway-api) fetch_gateway_api ;; s3) build_s3 ;;
  *) die "unknown component '$what' (all|k8s|etcd|kwok|gateway-api|s3)" ;;
esac
