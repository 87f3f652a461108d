#!/usr/bin/env bash
# Issue #2 benchmark: kwctl bench on safe-labels (a real Rust policy from ../shared) and on our
# pod_privileged guest, fresh vs reused instance, and 1 vs 2 evaluation threads, all in one
# run so the ratios compare like with like on a noisy machine. Prints a Markdown table.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
kwctl="$root/$build/bin/kwctl"
shared="$root/../shared/fixtures"
secs=${BENCH_SECONDS:-5}
warm=${BENCH_WARMUP:-1}

bench() {  # label, extra flags..., then policy and args
  local label=$1; shift
  local json
  json=$("$kwctl" bench --warm-up-time "$warm" --measurement-time "$secs" -o json "$@" 2>/dev/null)
  python3 - "$label" "$json" <<'PY'
import json, sys
label, j = sys.argv[1], json.loads(sys.argv[2])
print(f"| {label} | {j['mode']} | {j['threads']} | {j['iterations']} | {j['min_us']:.1f} | "
      f"{j['median_us']:.1f} | {j['p99_us']:.1f} | {j['mean_us']:.1f} | {j['throughput_per_s']:.0f} |")
PY
}

pod="$root/$build/guest/pod_privileged.wasm"
pod_req="$root/examples/requests/privileged-pod.json"
echo "| policy | instance | threads | iterations | min µs | median µs | p99 µs | mean µs | evals/s |"
echo "|---|---|---|---|---|---|---|---|---|"
bench pod_privileged "$pod" -r "$pod_req"
bench pod_privileged --reuse-instance "$pod" -r "$pod_req"
bench pod_privileged --threads 2 "$pod" -r "$pod_req"
if [ -d "$shared" ]; then
  sl="$shared/policies/wapc/safe-labels-annotated.wasm"
  sl_req="$shared/requests/safe-labels/ingress.json"
  sl_set='{"denied_labels":["foo","owner"]}'
  bench safe-labels "$sl" -r "$sl_req" --settings-json "$sl_set"
  bench safe-labels --reuse-instance "$sl" -r "$sl_req" --settings-json "$sl_set"
  bench safe-labels --threads 2 "$sl" -r "$sl_req" --settings-json "$sl_set"
else
  echo "(../shared absent: safe-labels rows skipped)"
fi
