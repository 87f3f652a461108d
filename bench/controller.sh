#!/usr/bin/env bash
# Issue 11 benchmark, against a running `make cluster` (real kube-apiserver, kube-controller-
# manager, the kubelet stand-in and our controller): N ClusterAdmissionPolicies on one
# PolicyServer from nothing to all active (wall time, API requests per policy from the API
# server's apiserver_request_total), then webhook repair latency over R deletions (time until
# kubectl sees the configuration again; kubectl's own ~40 ms per poll is included).
# Usage: bash bench/controller.sh [N=100] [R=100]   (KUBECONFIG from build/local-cluster)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100}
r=${2:-100}
export KUBECONFIG=${KUBECONFIG:-$root/build/local-cluster/kubeconfig}
export PATH=$root/build/tools/bin:$PATH
module="file://$root/build/guest/annotated/pod_privileged.wasm"

# The API server's request count: watches and this script's own polls (LIST of the policies,
# the webhook configurations' GET/DELETE, /metrics) left out; its one POST per policy stays in.
requests() {
  kubectl get --raw /metrics | awk '/^apiserver_request_total\{/ && !/verb="WATCH"/ &&
    !/resource="clusteradmissionpolicies".*verb="LIST"|verb="LIST".*resource="clusteradmissionpolicies"/ &&
    !/resource="validatingwebhookconfigurations"/ && !/resource=""/ {s+=$NF} END {print s+0}'
}
now_ms() { date +%s%3N; }

kubectl apply -f "$root/examples/kubewarden/policy-server.yaml" >/dev/null
kubectl wait --for=jsonpath='{.status.conditions[?(@.type=="DeploymentReconciled")].status}'=True \
  policyserver/default --timeout=60s >/dev/null 2>&1 || true
before=$(requests)
start=$(now_ms)
for i in $(seq 1 "$n"); do
  cat <<YML
---
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: bench-$i}
spec:
  policyServer: default
  module: $module
  mode: protect
  mutating: false
  rules: [{apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"]}]
YML
done | kubectl create -f - >/dev/null
until [ "$(kubectl get clusteradmissionpolicies -o jsonpath='{range .items[*]}{.status.policyStatus}{"\n"}{end}' | grep -c '^active$')" -ge "$n" ]; do :; done
wall=$(( $(now_ms) - start ))
after=$(requests)
echo "policies to active: n=$n wall=${wall} ms api_requests=$((after - before)) per_policy=$(( (after - before) / n ))"

lat=()
for i in $(seq 1 "$r"); do
  name=clusterwide-bench-$(( (i - 1) % n + 1 ))
  kubectl delete validatingwebhookconfiguration "$name" >/dev/null
  t0=$(now_ms)
  until kubectl get validatingwebhookconfiguration "$name" >/dev/null 2>&1; do :; done
  lat+=($(( $(now_ms) - t0 )))
done
printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {p50=int(NR*0.5); if (p50<1) p50=1; p99=int(NR*0.99); if (p99<1) p99=1;
  printf "webhook repair over %d deletions: p50=%d ms p99=%d ms max=%d ms\n", NR, a[p50], a[p99], a[NR]}'
pid=$(pgrep -f 'bin/kubewarden-controller' | head -1)
echo "controller RSS with $n policies: $(awk '/VmRSS/ {print $2" "$3}' /proc/$pid/status)"
