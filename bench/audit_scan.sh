#!/usr/bin/env bash
# Issue 12 benchmark, against a running `make cluster` (real kube-apiserver, kube-controller-
# manager, the kubelet stand-in and our controller): N namespaces x M Pods (every tenth
# privileged) and P ClusterAdmissionPolicies on the default PolicyServer, then
#   1. a full scan (wall time, peak RSS from /usr/bin/time, evaluations),
#   2. the same scan again with nothing changed (target: no evaluations),
#   3. one full scan per store (kubernetes, memory, sqlite; postgres when PG_URL is set).
# Usage: bash bench/audit_scan.sh [N=100] [M=100] [P=10]   (KUBECONFIG from build/local-cluster)
# AUDIT_ARGS adds flags to every scan (e.g. AUDIT_ARGS="--parallel-namespaces 4").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100}
m=${2:-100}
p=${3:-10}
export KUBECONFIG=${KUBECONFIG:-$root/build/local-cluster/kubeconfig}
export PATH=$root/build/tools/bin:$PATH
scanner=$root/build/bin/audit-scanner
module="file://$root/build/guest/annotated/pod_privileged.wasm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now_ms() { date +%s%3N; }

# Objects first (no policy refuses them yet), server-side in batches of one namespace.
for i in $(seq 1 "$n"); do
  {
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: audit-bench-%d, labels: {audit-bench: "true"}}\n' "$i"
    for j in $(seq 1 "$m"); do
      priv=false
      if (( j % 10 == 0 )); then priv=true; fi
      printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: pod-%d, namespace: audit-bench-%d}\n' "$j" "$i"
      printf 'spec: {containers: [{name: app, image: registry.example/app:1, securityContext: {privileged: %s}}]}\n' "$priv"
    done
  } > "$work/ns-$i.yaml"
  kubectl apply --server-side -f "$work/ns-$i.yaml" >/dev/null
done

kubectl apply -f "$root/examples/kubewarden/policy-server.yaml" >/dev/null
for k in $(seq 1 "$p"); do
  cat <<YML
---
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: audit-bench-$k}
spec:
  policyServer: default
  module: $module
  mode: monitor
  mutating: false
  namespaceSelector: {matchLabels: {audit-bench: "true"}}
  rules:
  - {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}
YML
done | kubectl apply -f - >/dev/null
for k in $(seq 1 "$p"); do
  kubectl wait --for=jsonpath='{.status.policyStatus}'=active \
    clusteradmissionpolicy/audit-bench-$k --timeout=300s >/dev/null
done
kubectl -n kubewarden get secret policy-server-root-ca \
  -o jsonpath='{.data.policy-server-root-ca-pem}' | base64 -d > "$work/ca.pem"

# One scan: "<wall ms> <peak RSS KiB> <summary line>".
scan() {
  local start end
  start=$(now_ms)
  # shellcheck disable=SC2086 # AUDIT_ARGS is a list of flags
  /usr/bin/time -f '%M' -o "$work/rss" "$scanner" -k kubewarden --extra-ca "$work/ca.pem" \
    ${AUDIT_ARGS:-} "$@" 2> "$work/log" >/dev/null || true
  end=$(now_ms)
  echo "$((end - start)) ms, peak RSS $(cat "$work/rss") KiB: $(grep 'audit scan' "$work/log" | tail -1)"
}

# Reuse needs the policies' resourceVersions unchanged: the controller may still be writing
# their status right after they turned active, so the script says when that happened.
policy_versions() { kubectl get clusteradmissionpolicies -o jsonpath='{.items[*].metadata.resourceVersion}'; }
echo "== $n namespaces x $m Pods x $p policies ($((n * m * p)) evaluations) ${AUDIT_ARGS:-}"
before=$(policy_versions)
echo "full scan (kubernetes store):  $(scan)"
echo "second scan, nothing changed:  $(scan)"
[[ "$(policy_versions)" == "$before" ]] || echo "note: a policy changed during these scans (status writes), so results were not reused"
echo "full scan, memory store:       $(scan --store memory)"
rm -f "$work/audit.db"
echo "full scan, sqlite store:       $(scan --store sqlite --store-path "$work/audit.db")"
echo "second scan, sqlite store:     $(scan --store sqlite --store-path "$work/audit.db")"
if [[ -n "${PG_URL:-}" ]]; then
  echo "full scan, postgres store:     $(scan --store postgres --store-url "$PG_URL")"
fi
