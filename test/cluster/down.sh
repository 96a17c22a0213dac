#!/usr/bin/env bash
# Stops every process the local cluster started, by the pids kwokctl recorded,
# and removes its state. Safe to run when nothing is up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/versions.env"
cache=${CUTOVER_CACHE:-$HOME/.cache/cutover}
name=${CUTOVER_CLUSTER_NAME:-cutover}
state=${CUTOVER_CLUSTER_DIR:-$root/.cluster}
export KWOK_WORKDIR="$state/kwok"
dir="$KWOK_WORKDIR/clusters/$name"
[ -d "$dir" ] || { rm -f "$state/kubeconfig"; echo "cluster '$name' is not up"; exit 0; }

# kwokctl writes each pid without a newline: read the files one by one.
pids=""
for f in "$dir"/pids/*.pid; do [ -f "$f" ] && pids+=" $(<"$f")"; done
"$cache/kwok-$KWOK_VERSION/bin/kwokctl" --name "$name" delete cluster --kubeconfig "$state/kubeconfig" >"$state/delete.log" 2>&1 || true
for pid in $pids; do
  # kwokctl sends SIGTERM; give each process a moment, then make sure.
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
done
rm -rf "$dir" "$state/kubeconfig"
echo "cluster '$name' stopped"
