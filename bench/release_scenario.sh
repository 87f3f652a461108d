# The Kubewarden 1.10 release scenario shared by the server benchmarks: 13 policies over 5
# distinct modules (4 x safe-labels with different settings, 5 x our pod_privileged, 2 x js-demo
# WASI, 1 x gatekeeper always-happy, 1 x go-policy-template), and a warm load of 2,000 mixed
# requests. Sourced, not run. Expects $root, $build, $work and $shared.

# Writes $work/policies.yml (and the annotated gatekeeper module it points at).
write_release_policies() {
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
}

release_load() {  # port: 2,000 mixed requests over 4 keep-alive connections; prints failures
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
