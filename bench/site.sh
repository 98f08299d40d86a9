#!/usr/bin/env bash
# The site benchmark: `batchsli site` (default bounds: 1,000 recipe pages,
# 50 batch pages, 12 weeks, four windows) against `batchsli report --format
# json` on the same history, alternating RUNS times after a warm-up, each
# site into a new folder; prints the medians of wall time and peak memory
# (GNU time), the ratio, and the site's files and size.
#
# Usage: bench/site.sh DATA_DIR [RUNS]
#   DATA_DIR: a history, for example out/popular-20000 (bench/run.sh makes it)
set -euo pipefail
export BATCHSLI_CACHE=off
cd "$(dirname "$0")"
data=$1
runs=${2:-5}
now=2036-01-01T00:00:00Z
mkdir -p out
go build -o out/batchsli ../cmd/batchsli
work=$(mktemp -d out/site.XXXXXX)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

: > "$work/site.times"; : > "$work/report.times"
for i in $(seq 0 "$runs"); do
  rm -rf "$work/site"
  /usr/bin/time -f "%e %M" -o "$work/t" out/batchsli site --data "$data" --out "$work/site" --now "$now" 2>/dev/null
  [ "$i" -gt 0 ] && cat "$work/t" >> "$work/site.times"
  /usr/bin/time -f "%e %M" -o "$work/t" out/batchsli report --data "$data" --format json --now "$now" > /dev/null
  [ "$i" -gt 0 ] && cat "$work/t" >> "$work/report.times"
done
for c in site report; do
  s=$(cut -d' ' -f1 "$work/$c.times" | median) m=$(cut -d' ' -f2 "$work/$c.times" | median)
  printf '%-7s %6.2f s  %6.0f MiB\n' "$c" "$s" "$(echo "$m / 1024" | bc -l)"
  echo "$s" > "$work/$c.median"
done
printf 'site / report: %.2fx\n' "$(echo "$(cat "$work/site.median") / $(cat "$work/report.median")" | bc -l)"
echo "site: $(find "$work/site" -type f | wc -l) files, $(du -sh "$work/site" | cut -f1)"
