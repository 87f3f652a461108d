#!/usr/bin/env bash
# `make run`: serves the bundled example policies (examples/policies.yml: our own guests in
# protect, monitor and mutating configurations, plus a WASI one) on 127.0.0.1:3000 until
# Ctrl-C. The README shows curl requests to try against it.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "policy-server on http://127.0.0.1:3000 with examples/policies.yml (Ctrl-C stops it)"
exec "$root/$build/bin/policy-server" --addr 127.0.0.1 --port 3000 --enable-metrics \
  --policies examples/policies.yml "${@:2}"
