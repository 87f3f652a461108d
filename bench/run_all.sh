#!/usr/bin/env bash
# `make bench`: every benchmark, one after the other. Figures go to docs/benchmarks.md by hand,
# with the command and machine, because these machines are noisy and numbers need reading.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
echo "## core latency ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
bash "$here/core_latency.sh" "$build"
echo "## V8 and wasmtime side by side (issue 14)"
bash "$here/engines.sh" "$build"
echo "## server throughput (A)"
bash "$here/server_throughput.sh" "$build"
echo "## server memory and start-up (B, C)"
bash "$here/server_memory.sh" "$build"
echo "## OCI pull (issue 5)"
bash "$here/oci_pull.sh" "$build"
echo "## Kubernetes cache and context-aware evaluations (issue 6)"
"$build/bin/kube_cache_bench"
bash "$here/context_aware.sh" "$build"
echo "## admission latency through kube-apiserver (issue 10)"
bash "$here/admission_latency.sh" "$build"
