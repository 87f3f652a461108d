# Shared by the server benchmarks: start/stop a policy-server and wait until it is ready.
# Sourced, not run. Expects $root and $build.
server_pid=""
start_server() {  # port policies.yml extra-args... ; sets server_pid and boot_ms
  local port=$1 policies=$2; shift 2
  local t0=$(date +%s%N)
  "$root/$build/bin/policy-server" --addr 127.0.0.1 --port "$port" --policies "$policies" \
    --log-level warn "$@" > "$work/server-$port.log" 2>&1 &
  server_pid=$!
  local scheme=http; [[ " $* " == *" --cert-file "* ]] && scheme=https
  for _ in $(seq 1 1200); do
    if curl -sk -o /dev/null -w '%{http_code}' "$scheme://127.0.0.1:$port/readiness" 2>/dev/null | grep -q 200; then
      boot_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server-$port.log"; return 1; }
    sleep 0.05
  done
  return 1
}
stop_server() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  server_pid=""
}
