#!/usr/bin/env bash
# `make demo`: the CRDs and one object of each kind on the local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
k() { kubectl --kubeconfig "${KUBECONFIG:-.cluster/kubeconfig}" "$@"; }
k apply --server-side --field-manager cutover -f crds/ >/dev/null
k wait --for condition=Established --timeout 60s -f crds/ >/dev/null
k create namespace shop --dry-run=client -o yaml | k apply -f - >/dev/null
k -n shop apply --server-side --field-manager cutover -k config/samples >/dev/null
echo
k -n shop get releases,environments,backuppolicies,rollbackpolicies
