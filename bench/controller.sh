#!/usr/bin/env bash
# Issue 11 benchmark, against a running `make cluster` (real kube-apiserver, kube-controller-
# manager, the kubelet stand-in and our controller): N ClusterAdmissionPolicies on one
# PolicyServer from nothing to all active (wall time, API requests per policy from the API
# server's apiserver_request_total), then webhook repair latency over R deletions (time until
# kubectl sees the configuration again; kubectl's own ~40 ms per poll is included), then IDLE
# seconds with nothing changing: every non-watch request the API server counted in that window,
# by verb and resource (the controller's own rest_client_requests_total beside it), and the
# controller's RSS.
# Usage: bash bench/controller.sh [N=100] [R=100] [IDLE=600]   (KUBECONFIG from build/local-cluster)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100}
r=${2:-100}
idle=${3:-600}
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

# Idle: the API server's non-watch requests per verb and resource over the window. The other
# clients (kube-controller-manager, the kubelet stand-in's Node and Lease heartbeats) are listed
# too, so each row names who it could come from; the controller's own count is beside it.
per_resource() {
  kubectl get --raw /metrics | awk '/^apiserver_request_total\{/ && !/verb="WATCH"/ {
    match($0, /resource="[^"]*"/); res=substr($0, RSTART+10, RLENGTH-11);
    match($0, /verb="[^"]*"/); verb=substr($0, RSTART+6, RLENGTH-7);
    s[verb" "res]+=$NF} END {for (k in s) print k, s[k]}' | sort
}
controller_sent() {
  local port
  port=$(tr '\0' '\n' </proc/"$pid"/cmdline | awk 'p {print; exit} /^--metrics-bind-address$/ {p=1}')
  curl -s "http://$port/metrics" | awk -v m="$1" '$0 ~ "^"m {s+=$NF} END {print s+0}'
}
if [ "$idle" -gt 0 ]; then
  a=$(mktemp); b=$(mktemp)
  per_resource >"$a"; sent_before=$(controller_sent rest_client_requests_total)
  lists_before=$(controller_sent kubewarden_controller_informer_lists_total)
  sleep "$idle"  # the measurement window itself, not a synchronisation
  per_resource >"$b"; sent_after=$(controller_sent rest_client_requests_total)
  lists_after=$(controller_sent kubewarden_controller_informer_lists_total)
  echo "idle ${idle} s: writes and reads the controller sent outside its watches: $((sent_after - sent_before)) (its rest_client_requests_total)"
  echo "idle ${idle} s: full lists the controller's informers made: $((lists_after - lists_before))"
  echo "idle ${idle} s: API server non-watch requests by verb and resource (all clients, this script's /metrics reads included):"
  join -a2 -e0 -o 0,1.2,2.2 <(awk '{print $1"/"$2, $3}' "$a" | sort) <(awk '{print $1"/"$2, $3}' "$b" | sort) |
    awk '$3 - $2 > 0 {printf "  %-45s %d\n", $1, $3 - $2}'
  echo "controller RSS after idle: $(awk '/VmRSS/ {print $2" "$3}' /proc/$pid/status)"
  rm -f "$a" "$b"
fi
