#!/usr/bin/env bash
# Issue 14: V8 and wasmtime side by side, everything in one run so ratios compare like with like
# on a shared machine. Prints two Markdown tables:
#  A. kwctl bench per policy and engine: fresh and reused instance medians and p99 on one
#     thread, and fresh on two threads (pod_privileged, safe-labels, go-policy-template,
#     js-demo, gatekeeper always-happy);
#  B. the 13-policy release scenario (bench/release_scenario.sh) per engine: boot time to ready
#     with an empty download dir (cold) and then with the code cache, and RSS after 2,000 mixed
#     requests for --workers 1..8.
# Knobs: BENCH_SECONDS (per row, default 3), BENCH_WARMUP (default 1), ENGINES (default
# "v8 wasmtime"), WORKER_COUNTS (default 1..8).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
kwctl="$root/$build/bin/kwctl"
shared="$root/../shared/fixtures"
secs=${BENCH_SECONDS:-3}
warm=${BENCH_WARMUP:-1}
engines=${ENGINES:-v8 wasmtime}
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
source "$root/bench/server_common.sh"
source "$root/bench/release_scenario.sh"
[ -d "$shared" ] || { echo "needs the policy fixtures in $shared" >&2; exit 1; }

bench_json() {  # engine, then kwctl bench arguments; prints kwctl's JSON
  local engine=$1; shift
  # A WASI policy runs once per instance, so --reuse-instance fails on it: that cell is "n/a".
  "$kwctl" bench --engine "$engine" --warm-up-time "$warm" --measurement-time "$secs" -o json \
    "$@" 2>/dev/null || echo '{}'
}

row() {  # label engine policy-args...
  local label=$1 engine=$2; shift 2
  local fresh reused two
  fresh=$(bench_json "$engine" "$@")
  reused=$(bench_json "$engine" --reuse-instance "$@")
  two=$(bench_json "$engine" --threads 2 "$@")
  python3 - "$label" "$engine" "$fresh" "$reused" "$two" <<'PY'
import json, sys
label, engine = sys.argv[1], sys.argv[2]
f, r, t = (json.loads(x) for x in sys.argv[3:6])
def cell(j, key, fmt=".1f"):
    return format(j[key], fmt) if key in j else "n/a"
ratio = f"{f['median_us'] / r['median_us']:.2f}" if "median_us" in r else "n/a"
print(f"| {label} | {engine} | {cell(f, 'median_us')} | {cell(f, 'p99_us')} | "
      f"{cell(r, 'median_us')} | {cell(r, 'p99_us')} | {ratio} | {cell(t, 'median_us')} | "
      f"{cell(t, 'p99_us')} | {t['throughput_per_s'] / f['throughput_per_s']:.2f} |")
PY
}

write_release_policies  # also makes $work/gatekeeper.wasm, used below
pod=("$root/$build/guest/pod_privileged.wasm" -r "$root/examples/requests/privileged-pod.json")
sl=("$shared/policies/wapc/safe-labels-annotated.wasm" -r "$shared/requests/safe-labels/ingress.json"
    --settings-json '{"denied_labels":["foo","owner"]}')
go=("$shared/policies/wapc/go-policy-template-denied-names-tinygo.wasm"
    -r "$shared/requests/go-policy-template/pod.json" --settings-json '{"denied_names":["foo"]}')
js=("$shared/policies/wasi/js-demo-policy-annotated.wasm"
    -r "$shared/requests/js-demo-policy/no_privileged_containers.json")
gk=("$work/gatekeeper.wasm" -r "$root/examples/requests/privileged-pod.json")

echo "### A. Per evaluation (kwctl bench, ${secs} s a row after ${warm} s warm-up)"
echo
echo "| policy | engine | fresh median µs | fresh p99 | reused median µs | reused p99 | fresh/reused | 2 threads fresh median µs | p99 | 2-thread throughput ×1 |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for engine in $engines; do row pod_privileged "$engine" "${pod[@]}"; done
for engine in $engines; do row safe-labels "$engine" "${sl[@]}"; done
for engine in $engines; do row go-policy-template "$engine" "${go[@]}"; done
for engine in $engines; do row js-demo "$engine" "${js[@]}"; done
for engine in $engines; do row "gatekeeper always-happy" "$engine" "${gk[@]}"; done

echo
echo "### B. The 13-policy server: boot and RSS"
echo
echo "| engine | boot cold ms | boot with cache ms (1 worker) | RSS MiB at workers ${WORKER_COUNTS:-1 2 3 4 5 6 7 8} | RSS(max)/RSS(1) | failed requests |"
echo "|---|---|---|---|---|---|"
for engine in $engines; do
  dl="$work/download-$engine"
  rm -rf "$dl"; mkdir -p "$dl"
  # Cold: nothing compiled yet (for wasmtime this boot fills the code cache).
  start_server 3312 "$work/policies.yml" --engine "$engine" --workers 1 --policies-download-dir "$dl"
  cold=$boot_ms
  stop_server
  rss=(); boots=(); fails=0
  for workers in ${WORKER_COUNTS:-1 2 3 4 5 6 7 8}; do
    start_server 3312 "$work/policies.yml" --engine "$engine" --workers "$workers" \
      --policies-download-dir "$dl"
    boots+=("$boot_ms")
    f=$(release_load 3312 | cut -d' ' -f1); fails=$((fails + f))
    rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")")
    stop_server
  done
  python3 - "$engine" "$cold" "${boots[0]}" "${rss[*]}" "$fails" <<'PY'
import sys
engine, cold, cached, fails = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5]
rss = [int(x) / 1024 for x in sys.argv[4].split()]
print(f"| {engine} | {cold} | {cached} | {' / '.join(f'{r:.1f}' for r in rss)} | "
      f"{rss[-1] / rss[0]:.2f} | {fails} |")
PY
done
echo
echo "(machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
