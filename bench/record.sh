#!/usr/bin/env bash
# The record benchmark: record of one batch with its job summary, on a
# history, as a CI step does it. For each build given, a fresh copy of the
# history, one untimed record (it makes the checkpoints), then RUNS timed
# records one after another, each writing a fresh summary file (GitHub
# limits a step summary's size: an appended one fills, and a summary with no
# room is not computed). Prints each build's wall times (to the
# millisecond, taken around GNU time) and peak memory (GNU time's). Run the
# same builds on a small and a large history to compare: the target is the
# large one at most twice the small one.
#
# Usage: bench/record.sh HISTORY YEAR RUNS BINARY...
#   HISTORY  a data directory (batchsli simulate --out ...), copied, not changed
#   YEAR     a year after the history's newest batch (the records' times)
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,13p' "$0"; exit 2; }
history=$1 year=$2 runs=$3; shift 3
results=$(cd "$(dirname "$0")/.." && pwd)/cmd/batchsli/testdata/results/batch1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for bin in "$@"; do
  rm -rf "$work/data"; cp -r "$history" "$work/data"; rm -rf "$work/data/.batchsli.cache"
  cat "$work"/data/*/* > /dev/null # from the page cache, as after a checkout
  "$bin" record --data "$work/data" --ecosystem npm --timestamp "$year-01-01T00:00:00Z" --summary "$work/s.md" "$results" > /dev/null
  times=() mems=()
  for ((i = 1; i <= runs; i++)); do
    rm -f "$work/s.md"
    ts=$(printf '%s-01-02T%02d:00:00Z' "$year" "$i")
    t0=$(date +%s%N)
    /usr/bin/time -o "$work/t" -f '%M' "$bin" record --data "$work/data" --ecosystem npm \
      --timestamp "$ts" --summary "$work/s.md" "$results" > /dev/null
    t1=$(date +%s%N)
    [ -s "$work/s.md" ] || { echo "$bin: no summary written" >&2; exit 1; }
    read -r m < "$work/t"
    times+=("$(printf '%d.%03d' $(((t1 - t0) / 1000000000)) $((((t1 - t0) / 1000000) % 1000)))") mems+=("$((m / 1024))")
  done
  echo "$bin: s ${times[*]} | MB ${mems[*]}"
done
