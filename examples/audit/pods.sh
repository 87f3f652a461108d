#!/usr/bin/env bash
# Prints a Namespace `audit-demo` and 50 Pods in it, every fifth one privileged (10 of 50), for
# the audit-scanner walk-through in docs/audit-scanner.md:
#   bash examples/audit/pods.sh | kubectl apply -f -
# Apply them before the privileged-pods policy is active, or its webhook refuses the 10.
set -euo pipefail
ns=${1:-audit-demo}
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$ns"
for i in $(seq 1 50); do
  privileged=false
  if (( i % 5 == 0 )); then privileged=true; fi
  printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: app-%02d, namespace: %s}\n' "$i" "$ns"
  printf 'spec: {containers: [{name: app, image: registry.example/app:1, securityContext: {privileged: %s}}]}\n' "$privileged"
done
