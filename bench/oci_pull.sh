#!/usr/bin/env bash
# Issue #5 benchmark: `kwctl pull` of a 2 MiB and a 20 MiB policy from a local docker-registry
# (plain HTTP on 127.0.0.1). Each size is pulled REPEAT times (default 5) to a file; the table
# shows the median wall time and the median peak RSS (/usr/bin/time -v), and the RSS ratio
# 20 MiB / 2 MiB: a pull that streams to disk keeps that ratio near 1.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
kwctl="$root/$build/bin/kwctl"
repeat=${REPEAT:-5}
work=$(mktemp -d)
registry_pid=""
cleanup() {
  if [[ -n "$registry_pid" ]]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

[[ -x "$kwctl" ]] || { echo "error: $kwctl not built" >&2; exit 1; }
[[ -x /usr/bin/docker-registry ]] || { echo "error: /usr/bin/docker-registry missing (apt-get install docker-registry)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $host
  secret: kw-bench-secret
YML
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -fs "http://$host/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://$host/v2/" >/dev/null || { cat "$work/registry.log" >&2; exit 1; }

printf 'insecure_sources: ["%s"]\n' "$host" > "$work/sources.yml"
cat > "$work/metadata.yml" <<YML
rules:
- {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}
mutating: false
executionMode: wasi
YML
export XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config" DOCKER_CONFIG="$work/docker"

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

declare -A rss_of
echo "| module | size (bytes) | median pull time (s) | median peak RSS (MiB) |"
echo "|---|---|---|---|"
for mib in 2 20; do
  python3 "$root/bench/make_big_module.py" "$work/raw-$mib.wasm" "$mib"
  "$kwctl" annotate "$work/raw-$mib.wasm" -m "$work/metadata.yml" -o "$work/big-$mib.wasm"
  uri="registry://$host/bench/big-$mib:v1"
  "$kwctl" push "$work/big-$mib.wasm" "$uri" --sources-path "$work/sources.yml" >/dev/null
  : > "$work/times-$mib" ; : > "$work/rss-$mib"
  for _ in $(seq "$repeat"); do
    rm -f "$work/pulled.wasm"
    /usr/bin/time -v "$kwctl" pull "$uri" -o "$work/pulled.wasm" --sources-path "$work/sources.yml" \
      2> "$work/time.txt"
    cmp -s "$work/pulled.wasm" "$work/big-$mib.wasm" || { echo "error: pulled module differs" >&2; exit 1; }
    # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:00.12"
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' \
      "$work/time.txt" >> "$work/times-$mib"
    awk -F': ' '/Maximum resident set size/ {print $2/1024}' "$work/time.txt" >> "$work/rss-$mib"
  done
  t=$(median < "$work/times-$mib")
  r=$(median < "$work/rss-$mib")
  rss_of[$mib]=$r
  printf '| %d MiB | %d | %.3f | %.1f |\n' "$mib" "$(stat -c %s "$work/big-$mib.wasm")" "$t" "$r"
done
awk -v a="${rss_of[20]}" -v b="${rss_of[2]}" 'BEGIN {printf "\nRSS ratio 20 MiB / 2 MiB: %.2f\n", a/b}'
