#!/usr/bin/env bash
# Runs fuzz targets of a KW_FUZZ build for a while each, one after the other on one core:
#   fuzz/run.sh [--show-log] BUILD_DIR SECONDS [TARGET...]      (all targets when none is named)
# Each run starts from a fresh copy of fuzz/corpus/<target>/ in BUILD_DIR/fuzz-runs/<target>/
# (or $KW_FUZZ_RUNS/<target>/; the repository's corpus is never written), executes every seed,
# then mutates for SECONDS.
# Prints per target the executions (libFuzzer's stat::number_of_executed_units), exec/s and the
# corpus size reached. Exits non-zero when any target crashed, leaking, timing out or breaking an
# invariant, and names the input it left in that folder's artifacts/.
set -uo pipefail
show_log=0
if [ "${1:-}" = "--show-log" ]; then show_log=1; shift; fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--show-log] BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in "$root"/fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

# ctest's short runs use a folder of their own, so they never clobber a `make fuzz` in progress.
runs=${KW_FUZZ_RUNS:-$build/fuzz-runs}
failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/${t}_fuzz"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing (build it: cmake --build $build --target fuzz_targets)" >&2
    failed+=("$t")
    continue
  fi
  work="$runs/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$root/fuzz/corpus/$t/." "$work/corpus/"
  args=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/artifacts/")
  [ -f "$root/fuzz/dict/$t.dict" ] && args+=(-dict="$root/fuzz/dict/$t.dict")
  # KW_FUZZ_MAX_EXECS=N stops a target after N executions (SECONDS stays the cap), for runs
  # aiming at a number of executions rather than a time.
  [ -n "${KW_FUZZ_MAX_EXECS:-}" ] && args+=(-runs="$KW_FUZZ_MAX_EXECS")
  # Inputs are never read from the terminal; libFuzzer's own output goes to the log.
  "$bin" "${args[@]}" "$work/corpus" </dev/null >"$work/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  files=$(find "$work/corpus" -type f | wc -l)
  printf 'fuzz %-12s %12s executions %8s exec/s %6s corpus files  %s\n' "$t" "${execs:-?}" \
    "${rate:-?}" "$files" "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz invariant|.*runtime error)' "$work/log" | head -5
    for a in "$work"/artifacts/*; do [ -e "$a" ] && echo "  input: $a"; done
    [ $show_log -eq 1 ] && tail -40 "$work/log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (logs in $runs/<target>/log)" >&2
  exit 1
fi
