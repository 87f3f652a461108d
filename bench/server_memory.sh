#!/usr/bin/env bash
# Issue #4 benchmarks B and C: the Kubewarden 1.10 release scenario. 13 policies over 5
# distinct modules (4 x safe-labels with different settings, 5 x our pod_privileged, 2 x
# js-demo WASI, 1 x gatekeeper always-happy, 1 x go-policy-template). For --workers 1..8,
# SAMPLES samples each: boot time (C), then RSS after a warm load of 2,000 mixed requests (B).
# Writes a Markdown table and docs/server-rss.png (gnuplot).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
samples=${SAMPLES:-10}
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
source "$root/bench/server_common.sh"
shared="$root/../shared/fixtures"
command -v gnuplot >/dev/null || apt-get install -y -qq gnuplot-nox >/dev/null

# The gatekeeper fixture has no metadata: annotate a copy (in the temp dir) with gatekeeper mode.
cat > "$work/gk.yml" <<YML
rules:
- {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}
mutating: false
executionMode: gatekeeper
YML
"$root/$build/bin/kwctl" annotate "$shared/policies/gatekeeper/gatekeeper_always_happy_policy.wasm" \
  -m "$work/gk.yml" -o "$work/gatekeeper.wasm"
{
  for i in 1 2 3 4; do
    printf 'safe-labels-%d:\n  url: %s\n  settings:\n    denied_labels: [foo, owner%d]\n' \
      "$i" "$shared/policies/wapc/safe-labels-annotated.wasm" "$i"
  done
  for i in 1 2 3 4 5; do
    printf 'pod-privileged-%d:\n  url: %s\n' "$i" "$root/$build/guest/annotated/pod_privileged.wasm"
  done
  for i in 1 2; do
    printf 'js-demo-%d:\n  url: %s\n' "$i" "$shared/policies/wasi/js-demo-policy-annotated.wasm"
  done
  printf 'gatekeeper:\n  url: %s\n' "$work/gatekeeper.wasm"
  printf 'go-template:\n  url: %s\n  settings:\n    denied_names: [foo]\n' \
    "$shared/policies/wapc/go-policy-template-denied-names-tinygo.wasm"
} > "$work/policies.yml"

load() {  # 2,000 mixed requests over 4 keep-alive connections; prints failures
  python3 - "$1" "$shared" "$root" <<'PY'
import http.client, json, sys, threading
port, shared, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
pod = open(f"{root}/examples/requests/unprivileged-pod.json").read()
ing = json.load(open(f"{shared}/requests/safe-labels/ingress.json"))
ing = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": ing.get("request", ing)})
targets = [(f"/validate/safe-labels-{i}", ing) for i in range(1, 5)] + \
          [(f"/validate/pod-privileged-{i}", pod) for i in range(1, 6)] + \
          [("/validate/js-demo-1", pod), ("/validate/js-demo-2", pod),
           ("/validate/gatekeeper", pod), ("/validate/go-template", pod)]
failures = []
def client(k):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for n in range(500):
        path, body = targets[(n + k) % len(targets)]
        c.request("POST", path, body, {"Content-Type": "application/json"})
        r = c.getresponse(); data = r.read()
        if r.status != 200 or b'"code":500' in data: failures.append((path, data[:200]))
ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(failures), failures[:2] if failures else "")
PY
}

echo "| workers | samples | RSS MiB mean | min | max | boot ms mean | failed requests |"
echo "|---|---|---|---|---|---|---|"
: > "$work/rss.dat"
for workers in ${WORKER_COUNTS:-1 2 3 4 5 6 7 8}; do
  rss_all=(); boot_all=(); fails=0
  for s in $(seq 1 "$samples"); do
    start_server 3312 "$work/policies.yml" --workers "$workers"
    boot_all+=("$boot_ms")
    f=$(load 3312 | cut -d' ' -f1); fails=$((fails + f))
    rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
    rss_all+=("$rss_kb")
    stop_server
  done
  python3 - "$workers" "$samples" "$fails" "${rss_all[*]}" "${boot_all[*]}" "$work/rss.dat" <<'PY'
import sys, statistics as st
w, n, fails = sys.argv[1], sys.argv[2], sys.argv[3]
rss = [int(x) / 1024 for x in sys.argv[4].split()]; boot = [int(x) for x in sys.argv[5].split()]
print(f"| {w} | {n} | {st.mean(rss):.1f} | {min(rss):.1f} | {max(rss):.1f} | {st.mean(boot):.0f} | {fails} |")
open(sys.argv[6], "a").write(f"{w} {st.mean(rss):.2f} {min(rss):.2f} {max(rss):.2f}\n")
PY
done
gnuplot <<GP
set terminal png size 800,450
set output "$root/docs/server-rss.png"
set title "policy-server RSS after 2,000 mixed requests (13 policies, 5 modules)"
set xlabel "--workers"; set ylabel "RSS (MiB)"; set yrange [0:*]; set grid
plot "$work/rss.dat" using 1:2:3:4 with yerrorlines title "mean (min..max)" lw 2
GP
echo "plot: docs/server-rss.png"
