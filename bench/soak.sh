#!/usr/bin/env bash
# Issue 16 item 3, the soak test: MINUTES (default 30) of mixed traffic against one
# policy-server serving every kind of policy we support, with a real control plane
# (kw-cluster: etcd, kube-apiserver, kube-controller-manager) behind the context-aware ones:
#   waPC (pod_privileged, add_label mutating, safe-labels, go-policy-template), WASI
#   (wasi_pod_privileged, js-demo), OPA Rego (no-default-namespace), Gatekeeper (always happy,
#   always unhappy), context-aware (ctx_namespace_label on waPC and WASI, opa_ctx_namespace,
#   gatekeeper_ctx_namespace), the endless_loop guest (answered by the policy timeout) and the
#   memory_hog guest (grows to the 256 MiB cap on each request).
# bench/soak_load.py sends the traffic, checks every answer exactly and samples the server's
# RSS; see its header for what counts as an error. Exits non-zero when there was any error, the
# server died, or RSS grew more than 5% between the end of the warm-up and the end.
# Usage: bench/soak.sh [MINUTES] [BUILD_DIR]   (BUILD_DIR relative to the repository or absolute)
# Knobs: SOAK_WARMUP (s, 120), SOAK_RATE (mixed requests/s, 200), SOAK_CONNS (4),
#   SOAK_WORKERS (--workers, 2), SOAK_ENGINE (wasmtime), SOAK_PORT (3511),
#   SOAK_OUT (a folder to keep samples.csv, summary.md and the server log in).
set -euo pipefail
minutes=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
bdir=$(cd "$root" && realpath "${2:-build}")
build=$(realpath --relative-to="$root" "$bdir")  # server_common.sh runs $root/$build/bin/...
shared="$root/../shared/fixtures"
guests="$bdir/guest/annotated"
port=${SOAK_PORT:-3511}
workers=${SOAK_WORKERS:-2}
engine=${SOAK_ENGINE:-wasmtime}
timeout=2  # the server's default --policy-timeout, passed explicitly so the loader knows it
work=$(mktemp -d)
cluster="$work/cluster"
source "$root/bench/server_common.sh"
loader_pid=""
cleanup() {
  # The loader first (it would keep sending for the rest of MINUTES), then the server, then
  # the control plane.
  [ -n "$loader_pid" ] && kill -TERM "$loader_pid" 2>/dev/null && { wait "$loader_pid" 2>/dev/null || true; }
  stop_server
  "$bdir/bin/kw-cluster" stop --dir "$cluster" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for f in "$bdir/bin/policy-server" "$bdir/bin/kwctl" "$bdir/bin/kw-cluster" "$bdir/tools/bin/kubectl" \
  "$guests/endless_loop.wasm" "$guests/ctx_namespace_label.wasm" \
  "$shared/policies/wasi/js-demo-policy-annotated.wasm"; do
  [ -e "$f" ] || { echo "missing $f: build policy-server, kwctl, kw-cluster and annotated_guests; needs ../shared/fixtures" >&2; exit 1; }
done

# --- the control plane and the Namespaces the requests name --------------------------------
"$bdir/bin/kw-cluster" start --strict --dir "$cluster" --tools "$bdir/tools/bin" > "$work/cluster.log" 2>&1 ||
  { cat "$work/cluster.log" >&2; exit 1; }
export KUBECONFIG="$cluster/kubeconfig"
kubectl="$bdir/tools/bin/kubectl"
"$kubectl" create namespace soak-owned > /dev/null
"$kubectl" label namespace soak-owned owner=soak > /dev/null
"$kubectl" create namespace soak-plain > /dev/null
"$kubectl" create namespace soak-flip > /dev/null  # its label is flipped during the run

# --- the policies -------------------------------------------------------------------------
annotate() {  # fixture, execution mode, output: the fixtures without metadata get ours
  printf 'rules:\n- {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}\nmutating: false\nexecutionMode: %s\n' \
    "$2" > "$work/$3.yml"
  "$bdir/bin/kwctl" annotate "$shared/policies/$1" -m "$work/$3.yml" -o "$work/$3.wasm"
}
annotate gatekeeper/no-default-namespace-rego.wasm opa opa-no-default
annotate gatekeeper/gatekeeper_always_happy_policy.wasm gatekeeper gatekeeper-happy
annotate gatekeeper/gatekeeper_always_unhappy_policy.wasm gatekeeper gatekeeper-unhappy
cat > "$work/policies.yml" <<YML
pod-privileged: {url: $guests/pod_privileged.wasm}
add-label: {url: $guests/add_label.wasm, allowedToMutate: true}
safe-labels:
  url: $shared/policies/wapc/safe-labels-annotated.wasm
  settings: {denied_labels: [foo, owner]}
go-template:
  url: $shared/policies/wapc/go-policy-template-denied-names-tinygo.wasm
  settings: {denied_names: [foo]}
wasi-pod-privileged: {url: $guests/wasi_pod_privileged.wasm}
js-demo: {url: $shared/policies/wasi/js-demo-policy-annotated.wasm}
opa-no-default: {url: $work/opa-no-default.wasm}
gatekeeper-happy: {url: $work/gatekeeper-happy.wasm}
gatekeeper-unhappy: {url: $work/gatekeeper-unhappy.wasm}
ctx-namespace-label:
  url: $guests/ctx_namespace_label.wasm
  settings: {required_label: owner}
  contextAwareResources: [{apiVersion: v1, kind: Namespace}]
wasi-ctx-namespace-label:
  url: $guests/wasi_ctx_namespace_label.wasm
  settings: {required_label: owner}
  contextAwareResources: [{apiVersion: v1, kind: Namespace}]
opa-ctx-namespace:
  url: $guests/opa_ctx_namespace.wasm
  contextAwareResources: [{apiVersion: v1, kind: Namespace}]
gatekeeper-ctx-namespace:
  url: $guests/gatekeeper_ctx_namespace.wasm
  contextAwareResources: [{apiVersion: v1, kind: Namespace}]
endless-loop: {url: $guests/endless_loop.wasm}
memory-hog: {url: $guests/memory_hog.wasm}
YML

# --- the soak -----------------------------------------------------------------------------
start_server "$port" "$work/policies.yml" --workers "$workers" --engine "$engine" \
  --policy-timeout "$timeout" --policies-download-dir "$work/download"
echo "soak: ${minutes} min, policy-server pid $server_pid (--workers $workers, --engine $engine, ready in $boot_ms ms), work dir $work" >&2
status=0
python3 "$root/bench/soak_load.py" --port "$port" --pid "$server_pid" \
  --seconds "$(python3 -c "print($minutes * 60)")" --warmup "${SOAK_WARMUP:-120}" \
  --rate "${SOAK_RATE:-200}" --conns "${SOAK_CONNS:-4}" --timeout "$timeout" \
  --kube-server "$(. "$cluster/env"; echo "$KW_CLUSTER_SERVER")" --kube-ca "$cluster/pki/ca.crt" \
  --kube-cert "$cluster/pki/admin.crt" --kube-key "$cluster/pki/admin.key" \
  --out "$work" > "$work/summary.md" &
loader_pid=$!
wait "$loader_pid" || status=$?
loader_pid=""
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "- the policy-server is not running at the end" >> "$work/summary.md"; status=1
fi
{
  errs=$(grep -c '\[error\]' "$work/server-$port.log" || true)
  echo "- policy-server log: $(wc -l < "$work/server-$port.log") lines at --log-level warn, $errs at error level"
  echo "- machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} >> "$work/summary.md"
cat "$work/summary.md"
if [ -n "${SOAK_OUT:-}" ]; then
  mkdir -p "$SOAK_OUT"
  cp "$work/summary.md" "$work/samples.csv" "$work/server-$port.log" "$work/policies.yml" "$SOAK_OUT/"
fi
exit "$status"
