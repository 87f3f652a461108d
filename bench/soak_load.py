#!/usr/bin/env python3
"""Traffic, verdict checks and RSS sampling for bench/soak.sh (issue 16, item 3).

Runs for --seconds against a policy-server on 127.0.0.1:--port serving the policies soak.sh
writes, and checks every answer against the one expected for that policy and request:

- --conns mixed connections (keep-alive) share --rate requests per second over every ordinary
  policy, each request a random Pod variant (namespace, privileged or not, name, labels);
- one connection sends endless-loop a request every --loop-every seconds (its answer must be
  the policy-timeout rejection, after about --timeout seconds, never earlier);
- one connection sends memory-hog a request every --hog-every seconds. Touching 256 MiB takes
  0.2 s alone but can pass the deadline on a loaded machine: its exact timeout rejection,
  after the deadline, is counted as "timed out", not as an error. Its peaks show in the
  maximum RSS; the drift compares medians, which a peak every few samples does not move;
- one connection sends --odd-rate requests per second off the evaluation path: malformed
  bodies (400, 422), an unknown policy (404), each answer compared exactly, and
  /validate_raw and /audit requests to pod-privileged;
- one thread adds and deletes Namespaces and flips a label on one every --churn-every seconds,
  so the context-aware caches keep receiving watch events (no request targets those);
- one thread samples the server's VmRSS, threads and open descriptors every --sample-every s.

An error is a transport failure, an HTTP status other than 200, or a body that differs from
the expected AdmissionReview in any field (uid, allowed, status message and code, patch...).
Prints a Markdown summary; exits 1 when errors > 0, the server died, or RSS drift > --max-drift.
"""
import argparse
import base64
import http.client
import json
import os
import random
import ssl
import statistics
import sys
import threading
import time

NAMESPACES = ["default", "soak-owned", "soak-plain", "ghost"]  # ghost does not exist
TIMEOUT_MESSAGE = ("internal server error: Guest call failure: guest code interrupted, "
                   "execution deadline exceeded")


def allow(patch=None):
    r = {"allowed": True}
    if patch is not None:
        r["patchType"] = "JSONPatch"
        r["patch"] = patch  # compared decoded, see same()
    return r


def deny(message, code=None):
    status = {"message": message}
    if code is not None:
        status["code"] = code
    return {"allowed": False, "status": status}


def label_patch(v):
    if v["mutated"]:
        return allow()
    return allow([{"op": "add", "path": "/metadata/labels/kubewarden.io~1mutated", "value": "true"}])


def ns_label(v):
    ns = v["ns"]
    if ns == "ghost":
        return deny("namespace 'ghost' not found")
    if ns == "soak-owned":
        return allow()
    return deny(f"namespace '{ns}' does not have the required label 'owner'")


# Policy id (as in soak.sh's policies.yml) -> expected response for a Pod variant.
EXPECTED = {
    "pod-privileged": lambda v: deny("Privileged container is not allowed") if v["priv"] else allow(),
    "wasi-pod-privileged":
        lambda v: deny("Privileged container is not allowed") if v["priv"] else allow(),
    "js-demo": lambda v: deny("privileged containers are not allowed") if v["priv"] else allow(),
    "add-label": label_patch,
    "safe-labels": lambda v: deny("The following labels are denied: owner") if v["owner"] else allow(),
    "go-template": lambda v: deny("The 'foo' name is on the deny list") if v["name"] == "foo" else allow(),
    "opa-no-default":
        lambda v: deny("you cannot use the default namespace") if v["ns"] == "default" else allow(),
    "gatekeeper-happy": lambda v: allow(),
    "gatekeeper-unhappy": lambda v: deny("failing as expected"),
    "ctx-namespace-label": ns_label,
    "wasi-ctx-namespace-label": ns_label,
    "opa-ctx-namespace": lambda v: deny("namespace 'ghost' is not in data.kubernetes.namespaces")
    if v["ns"] == "ghost" else allow(),
    "gatekeeper-ctx-namespace": lambda v: deny("namespace 'ghost' is not in the inventory")
    if v["ns"] == "ghost" else allow(),
    "endless-loop": lambda v: deny(TIMEOUT_MESSAGE, 500),
    "memory-hog": lambda v: deny("memory_hog: memory.grow refused after 255 MiB"),
}
MIXED = [p for p in EXPECTED if p not in ("endless-loop", "memory-hog")]

VARIANTS = [{"ns": ns, "priv": priv, "name": name, "owner": owner, "mutated": mutated}
            for ns in NAMESPACES for priv in (False, True) for name in ("web", "foo")
            for owner in (False, True) for mutated in (False, True)]


def review(v, uid):
    labels = {"app": "web"}
    if v["owner"]:
        labels["owner"] = "someone"
    if v["mutated"]:
        labels["kubewarden.io/mutated"] = "true"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": v["name"], "namespace": v["ns"], "labels": labels},
           "spec": {"containers": [{"name": "c", "image": "registry.example/web:1.2",
                                    "securityContext": {"privileged": v["priv"]}}]}}
    gvk = {"group": "", "version": "v1", "kind": "Pod"}
    gvr = {"group": "", "version": "v1", "resource": "pods"}
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": v["name"], "namespace": v["ns"], "operation": "CREATE",
        "userInfo": {"username": "soak", "groups": ["system:authenticated"]},
        "object": pod, "oldObject": None, "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}})


def same(body, uid, expected):
    """True when body is exactly the AdmissionReview expected (the patch compared decoded)."""
    try:
        got = json.loads(body)
    except ValueError:
        return False
    want = dict(expected, uid=uid, auditAnnotations=None, warnings=None)
    if not isinstance(got, dict) or sorted(got) != ["apiVersion", "kind", "response"] or \
            got["apiVersion"] != "admission.k8s.io/v1" or got["kind"] != "AdmissionReview":
        return False
    resp = got["response"]
    if not isinstance(resp, dict):
        return False
    if "patch" in want:
        try:
            resp = dict(resp, patch=json.loads(base64.b64decode(resp.get("patch", ""))))
        except (ValueError, TypeError):
            return False
    return resp == want


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.per = {p: {"requests": 0, "allowed": 0, "denied": 0, "timeouts": 0, "errors": 0,
                        "lat": []}
                    for p in list(EXPECTED) + ["validate_raw", "audit", "bad requests"]}
        self.examples = []

    def record(self, policy, ok, allowed, latency, what=""):
        """ok: True, False (an error) or "timeout" (the exact timeout answer, deadline reached)."""
        with self.lock:
            s = self.per[policy]
            s["requests"] += 1
            s["lat"].append(latency)
            if ok == "timeout":
                s["timeouts"] += 1
            elif not ok:
                s["errors"] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{policy}: {what}"[:400])
            elif allowed:
                s["allowed"] += 1
            else:
                s["denied"] += 1

    def totals(self):
        with self.lock:
            return (sum(s["requests"] for s in self.per.values()),
                    sum(s["errors"] for s in self.per.values()))


class Client:
    """One keep-alive connection; reconnects after a transport failure."""

    def __init__(self, port, stats):
        self.port, self.stats, self.conn, self.seq = port, stats, None, 0

    def uid(self, tag):
        self.seq += 1
        return f"soak-{tag}-{self.seq}"

    def post(self, key, path, body, check):
        """Sends body to path; check(status, data, elapsed) -> (ok, allowed, what went wrong)."""
        t0 = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request("POST", path, body, {"Content-Type": "application/json"})
            r = self.conn.getresponse()
            data = r.read()
            status = r.status
        except (OSError, http.client.HTTPException) as e:
            self.conn = None
            self.stats.record(key, False, False, time.monotonic() - t0,
                              f"transport: {type(e).__name__}: {e}")
            return
        elapsed = time.monotonic() - t0
        try:
            ok, allowed, what = check(status, data, elapsed)
        except ValueError as e:  # not JSON
            ok, allowed, what = False, False, f"{path} -> HTTP {status} {data[:300]!r}: {e}"
        self.stats.record(key, ok, allowed, elapsed, what)

    def send(self, policy, v, tag, check_elapsed=None, may_time_out=None):
        """may_time_out: the deadline (s) of a policy that can outlast it on a loaded machine;
        its exact timeout rejection, once that much time has passed, is counted apart."""
        uid = self.uid(tag)
        expected = EXPECTED[policy](v)

        def check(status, data, elapsed):
            if may_time_out and status == 200 and elapsed >= may_time_out * 0.95 and \
                    same(data, uid, deny(TIMEOUT_MESSAGE, 500)):
                return "timeout", False, ""
            if status != 200 or not same(data, uid, expected):
                return False, False, f"{v} -> HTTP {status} {data[:300]!r}"
            if check_elapsed and not check_elapsed(elapsed):
                return False, False, f"answered after {elapsed:.3f} s"
            return True, expected["allowed"], ""
        self.post(policy, f"/validate/{policy}", review(v, uid), check)


# Requests off the evaluation path, so its error answers and the other endpoints run for as
# long as the rest: (stats key, path, body, exact HTTP status, exact JSON answer).
ODD = [
    ("bad requests", "/validate/pod-privileged", '{"request": {', 400,
     {"message": "Failed to parse the request body as JSON: parse error at line 1, column 14: "
                 "syntax error while parsing object key - unexpected end of input; expected "
                 "string literal", "status": 400}),
    ("bad requests", "/validate/pod-privileged", '{"x":1e999}', 400,
     {"message": "Failed to parse the request body as JSON: number overflow parsing '1e999'",
      "status": 400}),
    ("bad requests", "/validate/pod-privileged", '{"request":{"uid":"a"},"request":{"uid":"b"}}', 422,
     {"message": "Failed to deserialize the JSON body into the target type: duplicate field "
                 "`request`", "status": 422}),
    ("bad requests", "/validate/pod-privileged", '{"kind":"x"}', 422,
     {"message": "Failed to deserialize the JSON body into the target type: missing field "
                 "`request`", "status": 422}),
    ("bad requests", "/validate/nope", None, 404, {"message": "unknown policy: nope", "status": 404}),
]


def odd(a, stats, stop):
    """Error answers, /validate_raw and /audit, one request every 1/--odd-rate s."""
    rng = random.Random(7)
    client = Client(a.port, stats)
    n = 0
    while not stop.wait(1 / a.odd_rate):
        n += 1
        kind = n % (len(ODD) + 2)
        v = rng.choice(VARIANTS)
        uid = client.uid("odd")
        if kind < len(ODD):
            key, path, body, want_status, want = ODD[kind]
            body = body if body is not None else review(v, uid)

            def check(status, data, _, want_status=want_status, want=want):
                ok = status == want_status and json.loads(data or b"null") == want
                return ok, False, "" if ok else f"{path} {body[:60]} -> HTTP {status} {data[:300]!r}"
            client.post(key, path, body, check)
            continue
        expected = EXPECTED["pod-privileged"](v)
        if kind == len(ODD):  # raw: the request as sent, answered without the review envelope
            path = "/validate_raw/pod-privileged"
            body = json.dumps({"request": json.loads(review(v, uid))["request"]})
            want = {"response": dict(expected, uid=uid, auditAnnotations=None, warnings=None)}
            test = lambda data, want=want: json.loads(data) == want
        else:
            path, body = "/audit/pod-privileged", review(v, uid)
            test = lambda data, uid=uid, expected=expected: same(data, uid, expected)

        def check(status, data, _, path=path, test=test, expected=expected):
            ok = status == 200 and test(data)
            return ok, expected["allowed"], "" if ok else f"{path} -> HTTP {status} {data[:300]!r}"
        client.post(path.split("/")[1], path, body, check)


def mixed(a, stats, stop, k):
    rng = random.Random(1000 + k)
    client = Client(a.port, stats)
    interval = a.conns / a.rate
    due = time.monotonic()
    while not stop.is_set():
        client.send(rng.choice(MIXED), rng.choice(VARIANTS), f"m{k}")
        due += interval
        now = time.monotonic()
        if due > now:
            stop.wait(due - now)
        elif now - due > 1:  # fell behind (slow machine): don't burst to catch up
            due = now


def periodic(a, stats, stop, policy, every, check_elapsed=None, may_time_out=None):
    rng = random.Random(policy)
    client = Client(a.port, stats)
    while not stop.is_set():
        t0 = time.monotonic()
        client.send(policy, rng.choice(VARIANTS), policy, check_elapsed, may_time_out)
        stop.wait(max(0.0, every - (time.monotonic() - t0)))


class Kube:
    """Just enough of the Kubernetes API for the churn: the admin's client certificate."""

    def __init__(self, server, ca, cert, key):
        host, port = server.removeprefix("https://").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)

    def call(self, method, path, body=None, ctype="application/json"):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        try:
            c.request(method, path, json.dumps(body) if body is not None else None,
                      {"Content-Type": ctype})
            r = c.getresponse()
            r.read()
            return r.status
        finally:
            c.close()


def churn(a, stop, counters):
    kube = Kube(a.kube_server, a.kube_ca, a.kube_cert, a.kube_key)
    n = 0
    while not stop.wait(a.churn_every):
        n += 1
        steps = [("POST", "/api/v1/namespaces",
                  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"soak-churn-{n}"}},
                  "application/json", (201,))]
        if n > 5:
            steps.append(("DELETE", f"/api/v1/namespaces/soak-churn-{n - 5}", None,
                          "application/json", (200, 202)))
        steps.append(("PATCH", "/api/v1/namespaces/soak-flip",
                      {"metadata": {"labels": {"flip": str(n % 2)}}},
                      "application/merge-patch+json", (200,)))
        for method, path, body, ctype, good in steps:
            try:
                status = kube.call(method, path, body, ctype)
            except (OSError, http.client.HTTPException) as e:
                status = f"{type(e).__name__}: {e}"
            with counters["lock"]:
                counters["calls"] += 1
                if status not in good:
                    counters["failures"].append(f"{method} {path}: {status}")


def read_smaps(pid):
    """{start address: [size KiB, perms, name, Rss KiB]} of every mapping."""
    maps, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                cur = maps[head[0].split("-")[0]] = [(hi - lo) // 1024, head[1],
                                                    " ".join(head[5:]) or "anonymous", 0]
            elif head[0] == "Rss:" and cur is not None:
                cur[3] = int(head[1])
    return maps


def rss_growth(warm, end, top=6):
    """The mappings whose Rss grew most between two read_smaps() snapshots."""
    rows = []
    for start in set(warm) | set(end):
        w, e = warm.get(start), end.get(start)
        delta = (e[3] if e else 0) - (w[3] if w else 0)
        m = e or w
        rows.append((delta, start, m[0], m[1], m[2], "" if w and e else " new" if e else " gone"))
    rows.sort(reverse=True)
    return [f"{d / 1024:+.1f} MiB at {start} ({size / 1024:.1f} MiB {perm} {name}{state})"
            for d, start, size, perm, name, state in rows[:top] if d]


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return (int(fields["VmRSS"].split()[0]), int(fields["Threads"]),
            len(os.listdir(f"/proc/{pid}/fd")))


def sampler(a, stop, samples, t_start, stats, smaps):
    minute = 0
    while True:
        t = time.monotonic() - t_start
        try:
            rss, threads, fds = proc_sample(a.pid)
        except (OSError, KeyError, ValueError):
            samples.append((t, None, None, None))  # the server is gone
            stop.set()
            return
        samples.append((t, rss, threads, fds))
        if t >= a.warmup and "warm" not in smaps:
            smaps["warm"] = read_smaps(a.pid)
        if t >= 60 * (minute + 1):
            minute = int(t // 60)
            n, e = stats.totals()
            # The median of the last minute: one sample may fall on a memory-hog peak.
            rss_med = window_median(samples, t - 60, t)
            print(f"soak: {t / 60:5.1f} min, {n} requests, {e} errors, RSS {rss_med / 1024:.1f} MiB "
                  f"(median of the last minute), {threads} threads, {fds} fds",
                  file=sys.stderr, flush=True)
        if stop.wait(a.sample_every):
            try:
                smaps["end"] = read_smaps(a.pid)
            except OSError:
                pass
            return


def window_median(samples, lo, hi, col=1):
    vals = [s[col] for s in samples if lo <= s[0] <= hi and s[col] is not None]
    return statistics.median(vals) if vals else None


def pct(lat, q):
    if not lat:
        return 0.0
    lat = sorted(lat)
    return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000


def report(a, stats, samples, churned, died, smaps):
    end_t = max(s[0] for s in samples)
    win = min(30.0, a.warmup / 2)
    warm = window_median(samples, a.warmup - win, a.warmup)
    end = window_median(samples, end_t - win, end_t)
    live = [s for s in samples if s[1] is not None]
    peak = max(live, key=lambda s: s[1])
    drift = (end - warm) / warm * 100 if warm and end else float("inf")
    total, errors = stats.totals()
    print("| policy | requests | allowed | denied (expected) | timed out | errors | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for p, s in stats.per.items():
        print(f"| {p} | {s['requests']} | {s['allowed']} | {s['denied']} | {s['timeouts']} | {s['errors']} | "
              f"{pct(s['lat'], 0.5):.1f} | {pct(s['lat'], 0.99):.1f} |")
    print(f"| **all** | **{total}** | | | | **{errors}** | | |")
    print()
    mib = lambda k: f"{k / 1024:.1f} MiB" if k else "n/a"
    print(f"- duration {end_t / 60:.1f} min, warm-up {a.warmup / 60:.1f} min, "
          f"{total / end_t:.0f} requests/s on average")
    print(f"- RSS (median of the {win:.0f} s before each point): warm-up end {mib(warm)}, "
          f"end {mib(end)}, drift {drift:+.2f}% (limit {a.max_drift}%); max {mib(peak[1])} "
          f"at {peak[0] / 60:.1f} min; {len(live)} samples every {a.sample_every} s")
    tenth = end_t / 10
    print("- RSS median per tenth of the run (MiB): " + " / ".join(
        f"{(window_median(samples, i * tenth, (i + 1) * tenth) or 0) / 1024:.1f}" for i in range(10)))
    first, last = live[0], live[-1]
    print(f"- threads {first[2]} -> {last[2]}, open descriptors {first[3]} -> {last[3]} "
          f"(first and last sample; threads at warm-up end {window_median(samples, a.warmup - win, a.warmup, 2)}, "
          f"descriptors {window_median(samples, a.warmup - win, a.warmup, 3)})")
    print(f"- namespace churn: {churned['calls']} API calls, {len(churned['failures'])} failed"
          + (f" (first: {churned['failures'][0]})" if churned["failures"] else ""))
    if "warm" in smaps and "end" in smaps:
        grew = rss_growth(smaps["warm"], smaps["end"])
        print("- mappings whose Rss grew most from the warm-up end to the end (/proc/PID/smaps): "
              + ("; ".join(grew) if grew else "none"))
    if died:
        print("- THE SERVER DIED during the run")
    for ex in stats.examples:
        print(f"- error: {ex}")
    if a.out:
        with open(os.path.join(a.out, "samples.csv"), "w") as f:
            f.write("seconds,rss_kib,threads,fds\n")
            for s in samples:
                f.write(",".join("" if x is None else f"{x:.1f}" if isinstance(x, float) else str(x)
                                 for x in s) + "\n")
    return 0 if errors == 0 and not died and drift <= a.max_drift else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--warmup", type=float, default=120)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--loop-every", type=float, default=6)
    p.add_argument("--hog-every", type=float, default=10)
    p.add_argument("--odd-rate", type=float, default=2,
                   help="requests/s of malformed bodies, unknown policies, validate_raw, audit")
    p.add_argument("--churn-every", type=float, default=2)
    p.add_argument("--sample-every", type=float, default=2)
    p.add_argument("--timeout", type=float, default=2, help="the server's --policy-timeout")
    p.add_argument("--max-drift", type=float, default=5)
    p.add_argument("--kube-server", required=True)
    p.add_argument("--kube-ca", required=True)
    p.add_argument("--kube-cert", required=True)
    p.add_argument("--kube-key", required=True)
    p.add_argument("--out", default="")
    a = p.parse_args()

    stats, stop, samples, smaps = Stats(), threading.Event(), [], {}
    churned = {"lock": threading.Lock(), "calls": 0, "failures": []}
    # Never cut short, and answered within a few seconds of the deadline.
    loop_ok = lambda s: a.timeout * 0.95 <= s <= a.timeout + 3
    t_start = time.monotonic()
    threads = [threading.Thread(target=mixed, args=(a, stats, stop, k)) for k in range(a.conns)]
    threads += [threading.Thread(target=periodic, args=(a, stats, stop, "endless-loop",
                                                        a.loop_every, loop_ok)),
                threading.Thread(target=periodic, args=(a, stats, stop, "memory-hog", a.hog_every,
                                                        None, a.timeout)),
                threading.Thread(target=odd, args=(a, stats, stop)),
                threading.Thread(target=churn, args=(a, stop, churned))]
    sampling = threading.Thread(target=sampler, args=(a, stop, samples, t_start, stats, smaps))
    for t in threads + [sampling]:
        t.start()
    stop.wait(a.seconds)
    stop.set()
    for t in threads:
        t.join()
    sampling.join()
    died = samples[-1][1] is None
    sys.exit(report(a, stats, samples, churned, died, smaps))


if __name__ == "__main__":
    main()
