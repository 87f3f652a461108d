#!/usr/bin/env bash
# Issue #6 benchmark: a context-aware policy on a large cluster. The kube-fake API server (test
# double) holds NAMESPACES Namespaces and INGRESSES Ingresses; the policy-server serves
# ctx_namespace_label (lists all Namespaces on every evaluation) and a host_caller policy
# granted Ingresses, so both types are cached. Measures:
#   - cold start to ready (readiness only answers once the caches are synced), with and without
#     the context-aware resources;
#   - per-evaluation latency p50/p99 with wrk (one connection, then four);
#   - RSS of the server with caches minus RSS of the same server without them, against the
#     compact JSON size of the cached objects.
# Usage: bench/context_aware.sh [build-dir]   (NAMESPACES, INGRESSES, BENCH_SECONDS override)
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
namespaces=${NAMESPACES:-3000}
ingresses=${INGRESSES:-10000}
secs=${BENCH_SECONDS:-10}
work=$(mktemp -d)
fake_pid=""
stop_fake() { [ -n "$fake_pid" ] && kill -TERM "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null; fake_pid=""; }
trap 'stop_server; stop_fake; rm -rf "$work"' EXIT
source "$root/bench/server_common.sh"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
bin="$root/$build/bin"
guests="$root/$build/guest/annotated"
for f in "$bin/kube-fake" "$bin/policy-server" "$guests/ctx_namespace_label.wasm" "$guests/host_caller.wasm"; do
  [ -e "$f" ] || { echo "missing $f: build kube-fake, policy-server and annotated_guests" >&2; exit 1; }
done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- the fake cluster ----------------------------------------------------------------------
fake_port=3411
t0=$(date +%s%N)
"$bin/kube-fake" --port "$fake_port" --kubeconfig-out "$work/kubeconfig" \
  --namespaces "$namespaces" --ingresses "$ingresses" > "$work/kube-fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 1200); do [ -s "$work/kubeconfig" ] && break; sleep 0.05; done
read -r server token < <(python3 - "$work/kubeconfig" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
ctx = next(x for x in c["contexts"] if x["name"] == c.get("current-context", x["name"]))["context"]
srv = next(x for x in c["clusters"] if x["name"] == ctx["cluster"])["cluster"]["server"]
usr = next(x for x in c["users"] if x["name"] == ctx["user"])["user"].get("token", "")
print(srv, usr)
PY
)
api() { curl -sk -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
for _ in $(seq 1 1200); do
  [ "$(api -o /dev/null -w '%{http_code}' "$server/api/v1")" = 200 ] && break; sleep 0.05
done
fake_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# The namespace the benchmark's pods live in: labelled, so every evaluation is an accept.
api -o /dev/null -X POST "$server/api/v1/namespaces" \
  --data '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench-ns","labels":{"owner":"bench"}}}'
api "$server/api/v1/namespaces" > "$work/namespaces.json"
api "$server/apis/networking.k8s.io/v1/ingresses" > "$work/ingresses.json"
read -r ns_count ns_bytes ing_count ing_bytes < <(python3 - "$work" <<'PY'
import json, sys
out = []
for name in ("namespaces", "ingresses"):
    items = json.load(open(f"{sys.argv[1]}/{name}.json"))["items"]
    out += [len(items), sum(len(json.dumps(i, separators=(",", ":"))) for i in items)]
print(*out)
PY
)
json_bytes=$(( ns_bytes + ing_bytes ))

# --- policy-server without and with context-aware resources ---------------------------------
write_policies() {  # $1 = with|without
  local ns_res="" ing_res=""
  if [ "$1" = with ]; then
    ns_res=$'  contextAwareResources:\n  - {apiVersion: v1, kind: Namespace}'
    ing_res=$'  contextAwareResources:\n  - {apiVersion: networking.k8s.io/v1, kind: Ingress}'
  fi
  cat > "$work/policies-$1.yml" <<YML
ns-label:
  url: $guests/ctx_namespace_label.wasm
  settings:
    required_label: owner
$ns_res
ingress-reader:
  url: $guests/host_caller.wasm
  settings:
    binding: kubewarden
    namespace: kubernetes
    operation: list_resources_all
    payload: {api_version: networking.k8s.io/v1, kind: Ingress}
$ing_res
YML
}
write_policies without
write_policies with

export KUBECONFIG="$work/kubeconfig"
start_server 3412 "$work/policies-without.yml" --workers 2
boot_without=$boot_ms; rss_without=$(rss_kib "$server_pid")
stop_server
start_server 3412 "$work/policies-with.yml" --workers 2
boot_with=$boot_ms; rss_synced=$(rss_kib "$server_pid")

body=$(python3 - <<'PY'
import json
pod = {"uid": "bench-uid", "kind": {"group": "", "version": "v1", "kind": "Pod"},
       "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": "CREATE",
       "namespace": "bench-ns", "name": "web", "userInfo": {"username": "bench"},
       "object": {"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "web", "namespace": "bench-ns"},
                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": pod}))
PY
)
check=$(curl -s -X POST -H 'Content-Type: application/json' --data "$body" \
  http://127.0.0.1:3412/validate/ns-label)
case "$check" in
  *'"allowed":true'*) ;;
  *) echo "the benchmark request is not accepted: $check" >&2; exit 1 ;;
esac
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
LUA
latency_rows=""
for conns in 1 4; do
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" \
    http://127.0.0.1:3412/validate/ns-label 2>&1)
  latency_rows+=$(python3 - "$conns" "$out" <<'PY'
import re, sys
conns, out = sys.argv[1:3]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
def ms(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
note = f" ({bad.group(1)} non-2xx!)" if bad else ""
print(f"| evaluation latency, {conns} conn | p50 {ms(50):.2f} ms, p99 {ms(99):.2f} ms, "
      f"{rps:.0f} req/s{note} |")
PY
)$'\n'
done
rss_loaded=$(rss_kib "$server_pid")
stop_server

cache_kib=$(( rss_synced - rss_without ))
ratio=$(python3 -c "print(f'{$cache_kib * 1024 / $json_bytes:.2f}')")
echo "| measure | value |"
echo "|---|---|"
echo "| objects | $ns_count Namespaces ($(( ns_bytes / 1024 )) KiB JSON), $ing_count Ingresses ($(( ing_bytes / 1024 )) KiB JSON) |"
echo "| kube-fake start (generating the objects) | $fake_ms ms |"
echo "| policy-server cold start to ready, no context | $boot_without ms |"
echo "| policy-server cold start to ready, caches synced | $boot_with ms |"
printf '%s' "$latency_rows"
echo "| RSS without caches / synced / after load | $(( rss_without / 1024 )) / $(( rss_synced / 1024 )) / $(( rss_loaded / 1024 )) MiB |"
sizes=$(python3 -c "print(f'{$cache_kib / 1024:.1f} MiB vs {$json_bytes / 1048576:.1f} MiB')")
echo "| cache RSS vs JSON size | $sizes = ${ratio}x (target <= 3x) |"
