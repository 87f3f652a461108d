#!/usr/bin/env bash
# Admission latency as kube-apiserver measures it: 2,000 Pods created through the API with our
# policy-server as a validating webhook and 2,000 with no webhook, in one run, on a control
# plane of its own (kw-cluster, stopped at the end). Prints a Markdown table.
#   bash bench/admission_latency.sh [build-dir]     (PODS=2000 WARMUP=100 by default)
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=$build/bench-cluster
"$build/bin/kw-cluster" start --strict --dir "$dir" --tools "$build/tools/bin" >&2
trap '"$build/bin/kw-cluster" stop --dir "$dir" >&2' EXIT
"$build/bin/admission_latency" --env "$dir/env" --policy-server "$build/bin/policy-server" \
  --policy "$build/guest/annotated/pod_privileged.wasm" --pods "${PODS:-2000}" \
  --warmup "${WARMUP:-100}"
