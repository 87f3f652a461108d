#!/usr/bin/env bash
# `make run`: evaluates the bundled example policy (our pod-privileged guest) on a privileged
# and on an unprivileged pod with kwctl, and prints both verdicts. The policy-server replaces
# this once it exists.
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
