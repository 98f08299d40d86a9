#!/usr/bin/env bash
# The warehouse export benchmark: `batchsli export --format parquet`
# against the report on the same history (the issue's target: at most twice
# the report's time, under 100 MiB), timed both as `report --format json`
# and as bench/run.sh runs it (--by family, the level the export's platform
# column has), and against DuckDB copying the same
# records to the same Hive-partitioned Parquet layout
# (duckdb-warehouse.mjs), side by side in one run. First both exports are
# checked to hold the same rows (counts per table); then the four commands
# run RUNS times each, alternating, after a warm-up, each export into a new
# directory, and the medians of wall time and peak memory (GNU time) are
# printed with the ratios. Needs go, node and npm, jq and GNU time.
#
# Usage: bench/warehouse.sh DATA_DIR [RUNS]
#   DATA_DIR: a history, for example out/registry-20000-400000 (bench/run.sh makes it)
set -euo pipefail
export BATCHSLI_CACHE=off
cd "$(dirname "$0")"
data=$1
runs=${2:-5}
mkdir -p out
go build -o out/batchsli ../cmd/batchsli
[ -d node_modules/@duckdb/node-api ] || npm ci --no-audit --no-fund --silent
work=$(mktemp -d out/warehouse.XXXXXX)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# The same rows on both sides.
out/batchsli export --data "$data" --format parquet --out "$work/check-b" 2>/dev/null
node duckdb-warehouse.mjs "$data" "$work/check-d"
count() {
  node --input-type=module -e "
    import { DuckDBInstance } from '@duckdb/node-api';
    const con = await (await DuckDBInstance.create(':memory:')).connect();
    const r = await con.runAndReadAll(\"SELECT count(*) FROM read_parquet('$1/$2/*/*/*.parquet', hive_partitioning = true)\");
    console.log(String(r.getRows()[0][0]));"
}
for t in batch_runs failures; do
  b=$(count "$work/check-b" $t) d=$(count "$work/check-d" $t)
  [ "$b" = "$d" ] && echo "same $t rows: $b" || { echo "DIFFERENT $t rows: batchsli $b, DuckDB $d"; exit 1; }
done
echo "files: batchsli $(find "$work/check-b" -name '*.parquet' | wc -l), DuckDB $(find "$work/check-d" -name '*.parquet' | wc -l)"
rm -rf "$work/check-b" "$work/check-d"

: > "$work/export.times"; : > "$work/duckdb.times"; : > "$work/report.times"; : > "$work/family.times"
for i in $(seq 0 "$runs"); do
  t=$(mktemp -d "$work/run.XXXXXX")
  /usr/bin/time -f "%e %M" -o "$work/t" out/batchsli export --data "$data" --format parquet --out "$t/b" 2>/dev/null
  [ "$i" -gt 0 ] && cat "$work/t" >> "$work/export.times"
  /usr/bin/time -f "%e %M" -o "$work/t" node duckdb-warehouse.mjs "$data" "$t/d"
  [ "$i" -gt 0 ] && cat "$work/t" >> "$work/duckdb.times"
  /usr/bin/time -f "%e %M" -o "$work/t" out/batchsli report --data "$data" --format json > /dev/null
  [ "$i" -gt 0 ] && cat "$work/t" >> "$work/report.times"
  /usr/bin/time -f "%e %M" -o "$work/t" out/batchsli report --data "$data" --by family --format json --now 2036-01-01T00:00:00Z > /dev/null
  [ "$i" -gt 0 ] && cat "$work/t" >> "$work/family.times"
  rm -rf "$t"
done
for c in export duckdb report family; do
  s=$(cut -d' ' -f1 "$work/$c.times" | median) m=$(cut -d' ' -f2 "$work/$c.times" | median)
  printf '%-7s median %5.2f s  %4d MB  (all: %s)\n' "$c" "$s" $((m / 1024)) "$(cut -d' ' -f1 "$work/$c.times" | tr '\n' ' ')"
  eval "${c}_s=$s ${c}_m=$m"
done
echo "export / report time: $(echo "scale=2; $export_s / $report_s" | bc)x (report --by family: $(echo "scale=2; $export_s / $family_s" | bc)x); export / DuckDB time: $(echo "scale=2; $export_s / $duckdb_s" | bc)x; memory: $((export_m / 1024)) MB vs DuckDB $((duckdb_m / 1024)) MB"
