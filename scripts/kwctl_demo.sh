#!/usr/bin/env bash
# `make demo`: evaluates the bundled example policy (our pod-privileged guest) with kwctl on a
# privileged and on an unprivileged pod, and prints both verdicts.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
kwctl="$root/$build/bin/kwctl"
policy="$root/$build/guest/pod_privileged.wasm"

for pod in privileged-pod unprivileged-pod; do
  request="$root/examples/requests/$pod.json"
  echo "== kwctl run pod_privileged.wasm -r examples/requests/$pod.json"
  answer=$("$kwctl" run "$policy" -r "$request")
  echo "$answer"
  if echo "$answer" | grep -q '"allowed":true'; then
    echo "verdict: ACCEPTED"
  else
    echo "verdict: REJECTED"
  fi
done
