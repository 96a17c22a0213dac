#!/usr/bin/env bash
# Starts (or confirms) the local control plane: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and the KWOK controller, all as local
# processes managed by kwokctl. Idempotent; writes $CUTOVER_CLUSTER_DIR/kubeconfig.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/versions.env"
cache=${CUTOVER_CACHE:-$HOME/.cache/cutover}
name=${CUTOVER_CLUSTER_NAME:-cutover}
state=${CUTOVER_CLUSTER_DIR:-$root/.cluster}
export KWOK_WORKDIR="$state/kwok"
kubeconfig="$state/kubeconfig"
die() { echo "cluster-up: $*" >&2; exit 1; }

command -v kubectl >/dev/null 2>&1 || die "kubectl not found on PATH; install kubectl >= 1.32 (apt-get install kubectl) and re-run."
bash "$here/build.sh" all

bin="$cache/k8s-$K8S_VERSION/bin"
kwokbin="$cache/kwok-$KWOK_VERSION/bin"
kwokctl="$kwokbin/kwokctl"
k() { kubectl --kubeconfig "$kubeconfig" "$@"; }
healthy() { [ -f "$kubeconfig" ] && k get --raw /readyz >/dev/null 2>&1; }

if [ -n "${CUTOVER_APISERVER_PORT:-}" ] && ! healthy; then
  if (exec 3<>"/dev/tcp/127.0.0.1/$CUTOVER_APISERVER_PORT") 2>/dev/null; then
    die "port $CUTOVER_APISERVER_PORT (CUTOVER_APISERVER_PORT) is already in use by another process; free it or unset CUTOVER_APISERVER_PORT to pick a free port."
  fi
fi

if healthy; then
  echo "cluster '$name' is already up ($kubeconfig)"
else
  mkdir -p "$state"
  if [ -d "$KWOK_WORKDIR/clusters/$name" ]; then
    # Processes died (reboot, kill) but the state is there: restart it, and
    # recreate it from scratch if that does not bring it back.
    "$kwokctl" --name "$name" start cluster --timeout 60s >"$state/start.log" 2>&1 || true
    if ! healthy; then
      bash "$here/down.sh" >/dev/null 2>&1 || true
      mkdir -p "$state"
    fi
  fi
fi

if ! healthy; then
  # Only our own stages: node heartbeat, pods Ready, Job pods Succeeded, and a
  # chaos stage so a pod label can make a container fail. KWOK's pod-complete
  # is left out: stages.yaml completes Job pods itself, except migration pods,
  # which test/harness/executor.ts really runs.
  stages="$state/stages.yaml"
  : >"$stages"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-delete.yaml \
    pod/chaos/pod-container-running-failed.yaml; do
    [ -f "$kwokbin/../stage/$f" ] || die "KWOK stage $f missing from $kwokbin/../stage; remove $(dirname "$kwokbin") and re-run."
    { echo "---"; cat "$kwokbin/../stage/$f"; } >>"$stages"
  done
  cat "$here/stages.yaml" >>"$stages"
  port_args=()
  [ -n "${CUTOVER_APISERVER_PORT:-}" ] && port_args+=(--kube-apiserver-port "$CUTOVER_APISERVER_PORT")
  rm -f "$kubeconfig"
  # A /16 for Services: each Release owns two, and the default /24 fills up at ~120 Releases.
  # No leader election for the single controller-manager and scheduler: with it they exit
  # for good when the apiserver is away for more than their renew deadline (a test does that).
  # No client QPS limits: at 20 QPS the controller-manager, not the operator, paces a bulk apply.
  if ! "$kwokctl" --name "$name" --config "$stages" create cluster \
    --runtime binary \
    --kube-apiserver-binary "$bin/kube-apiserver" \
    --kube-controller-manager-binary "$bin/kube-controller-manager" \
    --kube-scheduler-binary "$bin/kube-scheduler" \
    --kwok-controller-binary "$kwokbin/kwok" \
    --etcd-binary "$cache/etcd-$ETCD_VERSION/bin/etcd" \
    --secure-port=true --kube-authorization=true --kube-admission=true \
    --extra-args kube-apiserver=service-cluster-ip-range=10.96.0.0/16 \
    --disable-qps-limits \
    --extra-args kube-controller-manager=leader-elect=false \
    --extra-args kube-scheduler=leader-elect=false \
    --kubeconfig "$kubeconfig" \
    "${port_args[@]}" \
    --wait 60s --timeout 120s >"$state/create.log" 2>&1; then
    tail -n 5 "$state/create.log" >&2
    die "kwokctl could not create the cluster (full log: $state/create.log; component logs: $KWOK_WORKDIR/clusters/$name/logs)."
  fi
fi

# Cluster-scoped fixtures every test relies on; applying them again is a no-op.
k apply --server-side --field-manager cutover-harness -f "$cache/gateway-api-$GATEWAY_API_VERSION/crds/" >/dev/null
k apply --server-side --field-manager cutover-harness -f "$here/nodes.yaml" >/dev/null
k wait --for condition=Established --timeout 60s crd --all >/dev/null
k wait --for condition=Ready --timeout 60s node --all >/dev/null
deadline=$((SECONDS + 60))
until k -n default get serviceaccount default >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || die "the controller-manager did not create the default ServiceAccount within 60 s (logs: $KWOK_WORKDIR/clusters/$name/logs)."
  sleep 0.5
done
echo "cluster '$name' ready: $(k version -o json 2>/dev/null | sed -nE 's/.*"gitVersion": "(v1[^"]*)".*/\1/p' | tail -n1), $(k get nodes --no-headers | wc -l) nodes; KUBECONFIG=$kubeconfig"
