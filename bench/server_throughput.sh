#!/usr/bin/env bash
# Issue #4 benchmark A: /validate throughput and latency with wrk (keep-alive) on loopback,
# for an always-accept waPC policy and for safe-labels, over HTTP and HTTPS, at 1, 16 and 64
# connections (CONNS="16 64" to choose), with GET /readiness on the same server as the pure-HTTP
# floor. One run.
# The last column is the server's own CPU time per request (utime+stime from /proc over the run,
# divided by the requests wrk completed): on two shared cores req/s moves by 15-20% between runs
# as wrk and the server compete for them, while the CPU a request costs the server moves far less,
# so it is the figure to compare when judging a change to the serving path.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_SECONDS:-5}
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
source "$root/bench/server_common.sh"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
shared="$root/../shared/fixtures"
cat > "$work/policies.yml" <<YML
always-accept:
  url: $root/$build/guest/annotated/always_accept.wasm
safe-labels:
  url: $shared/policies/wapc/safe-labels-annotated.wasm
  settings:
    denied_labels: [foo, owner]
YML
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
body=$(python3 -c "import json;r=json.load(open('$shared/requests/safe-labels/ingress.json'));print(json.dumps({'apiVersion':'admission.k8s.io/v1','kind':'AdmissionReview','request':r.get('request',r)}))")
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
LUA

cpu_ticks() {  # utime + stime of the server so far, in clock ticks
  awk '{print $14 + $15}' "/proc/$server_pid/stat"
}
echo "| scheme | target | conns | req/s | p50 ms | p99 ms | vs readiness | server CPU µs/req |"
echo "|---|---|---|---|---|---|---|---|"
for scheme in http https; do
  extra=(--workers 2)
  [ "$scheme" = https ] && extra+=(--cert-file "$work/cert.pem" --key-file "$work/key.pem")
  start_server 3311 "$work/policies.yml" "${extra[@]}"
  for conns in ${CONNS:-1 16 64}; do
    threads=$(( conns < 2 ? 1 : 2 ))
    floor=""
    for target in /readiness /validate/always-accept /validate/safe-labels; do
      script=(); [ "$target" != /readiness ] && script=(-s "$work/post.lua")
      before=$(cpu_ticks)
      out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "${script[@]}" \
        "$scheme://127.0.0.1:3311$target" 2>&1)
      ticks=$(( $(cpu_ticks) - before ))
      python3 - "$scheme" "$target" "$conns" "$floor" "$out" "$ticks" "$(getconf CLK_TCK)" <<'PY'
import re, sys
scheme, target, conns, floor, out = sys.argv[1:6]
ticks, hz = int(sys.argv[6]), int(sys.argv[7])
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
requests = int(re.search(r"(\d+) requests in", out).group(1))
cpu_us = ticks / hz * 1e6 / requests
def ms(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
ratio = f"{rps / float(floor):.2f}" if floor else "1.00 (floor)"
note = f" ({errors.group(1)} non-2xx!)" if errors else ""
print(f"| {scheme} | {target} | {conns} | {rps:.0f}{note} | {ms(50):.3f} | {ms(99):.3f} | {ratio} "
      f"| {cpu_us:.1f} |")
open("/tmp/kw_bench_last_rps", "w").write(str(rps))
PY
      [ "$target" = /readiness ] && floor=$(cat /tmp/kw_bench_last_rps)
    done
  done
  stop_server
done
