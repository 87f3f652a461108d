#!/usr/bin/env bash
# Issue #4 benchmarks B and C: the Kubewarden 1.10 release scenario. 13 policies over 5
# distinct modules (4 x safe-labels with different settings, 5 x our pod_privileged, 2 x
# js-demo WASI, 1 x gatekeeper always-happy, 1 x go-policy-template). For --workers 1..8,
# SAMPLES samples each: boot time (C), then RSS after a warm load of 2,000 mixed requests (B).
# Writes a Markdown table and docs/server-rss.png (gnuplot). The engine is the server's default,
# or KUBEWARDEN_ENGINE; its code cache (wasmtime) persists across the boots of one run.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
samples=${SAMPLES:-10}
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
source "$root/bench/server_common.sh"
shared="$root/../shared/fixtures"
command -v gnuplot >/dev/null || apt-get install -y -qq gnuplot-nox >/dev/null

source "$root/bench/release_scenario.sh"
write_release_policies

echo "| workers | samples | RSS MiB mean | min | max | boot ms mean | failed requests |"
echo "|---|---|---|---|---|---|---|"
: > "$work/rss.dat"
for workers in ${WORKER_COUNTS:-1 2 3 4 5 6 7 8}; do
  rss_all=(); boot_all=(); fails=0
  for s in $(seq 1 "$samples"); do
    start_server 3312 "$work/policies.yml" --workers "$workers" --policies-download-dir "$work/download"
    boot_all+=("$boot_ms")
    f=$(release_load 3312 | cut -d' ' -f1); fails=$((fails + f))
    rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
    rss_all+=("$rss_kb")
    stop_server
  done
  python3 - "$workers" "$samples" "$fails" "${rss_all[*]}" "${boot_all[*]}" "$work/rss.dat" <<'PY'
import sys, statistics as st
w, n, fails = sys.argv[1], sys.argv[2], sys.argv[3]
rss = [int(x) / 1024 for x in sys.argv[4].split()]; boot = [int(x) for x in sys.argv[5].split()]
print(f"| {w} | {n} | {st.mean(rss):.1f} | {min(rss):.1f} | {max(rss):.1f} | {st.mean(boot):.0f} | {fails} |")
open(sys.argv[6], "a").write(f"{w} {st.mean(rss):.2f} {min(rss):.2f} {max(rss):.2f}\n")
PY
done
gnuplot <<GP
set terminal png size 800,450
set output "$root/docs/server-rss.png"
set title "policy-server RSS after 2,000 mixed requests (13 policies, 5 modules)"
set xlabel "--workers"; set ylabel "RSS (MiB)"; set yrange [0:*]; set grid
plot "$work/rss.dat" using 1:2:3:4 with yerrorlines title "mean (min..max)" lw 2
GP
echo "plot: docs/server-rss.png"
