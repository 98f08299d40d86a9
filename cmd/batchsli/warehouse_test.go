package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var warehouseHistory = flag.String("warehouse-history", "", "also check the Parquet export of this data directory (bench/out/registry-20000-400000) against the report in DuckDB")

// duckdbCheck runs docs/warehouse/duckdb.sql over an export in DuckDB
// (scripts/warehouse: npm @duckdb/node-api) and returns each query's rows.
func duckdbCheck(t *testing.T, dir, format string) map[string][]map[string]any {
	t.Helper()
	if _, err := os.Stat("../../scripts/warehouse/node_modules/@duckdb/node-api"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("scripts/warehouse has no node_modules (.ci/run runs npm ci there)")
		}
		t.Skip("scripts/warehouse: run npm ci there")
	}
	out, err := exec.Command("node", "../../scripts/warehouse/check.mjs", dir, format).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("duckdb: %v\n%s", err, stderr)
	}
	var res map[string][]map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// num reads a DuckDB JSON value (BIGINTs come as strings).
func duckNum(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return -1
}

// compareWarehouse checks the documented SQL's results against the
// report's JSON over the same data: platform totals, categories and the
// matrix, and the pass rates where the report's counts are the SQL's.
func compareWarehouse(t *testing.T, q map[string][]map[string]any, reportJSON string) {
	t.Helper()
	var r struct {
		Platforms []struct {
			Platform                                 string
			Batches, Tested, Passed, Failed, Skipped float64
			N                                        float64  `json:"n"`
			RecipePassed                             float64  `json:"recipe_passed"`
			PassRate                                 *float64 `json:"pass_rate"`
		}
		Categories []struct {
			Platform, Category string
			Count              float64
		}
		Matrix []struct {
			Ecosystem, Platform       string
			Tested, Passed, Failed, N float64
			Batches                   float64
			PassRate                  *float64 `json:"pass_rate"`
		}
		MoreProblems any `json:"more_problems"`
	}
	if err := json.Unmarshal([]byte(reportJSON), &r); err != nil {
		t.Fatal(err)
	}
	if len(q["platforms"]) != len(r.Platforms) {
		t.Errorf("%d platforms in SQL, %d in the report", len(q["platforms"]), len(r.Platforms))
	}
	rates := 0
	for i, p := range r.Platforms {
		if i >= len(q["platforms"]) {
			break
		}
		s := q["platforms"][i]
		got := fmt.Sprint(s["platform"], duckNum(s["batches"]), duckNum(s["tested"]), duckNum(s["passed"]), duckNum(s["failed"]), duckNum(s["skipped"]))
		want := fmt.Sprint(p.Platform, p.Batches, p.Tested, p.Passed, p.Failed, p.Skipped)
		if got != want {
			t.Errorf("platform totals: SQL %s, report %s", got, want)
		}
		// The report's headline rate also leaves out incident batches and
		// flaky recipes' retried passes (docs/WAREHOUSE.md); where it left
		// nothing out, the rates are the same number.
		if p.PassRate != nil && p.N == duckNum(s["n"]) && p.RecipePassed == p.Passed {
			rates++
			if duckNum(s["pass_rate"]) != *p.PassRate {
				t.Errorf("%s: pass rate SQL %v, report %v", p.Platform, s["pass_rate"], *p.PassRate)
			}
		}
	}
	if rates == 0 {
		t.Errorf("no platform pass rate compared")
	}
	t.Logf("%d of %d platform pass rates compared (the others leave out incident batches or flaky retries)", rates, len(r.Platforms))
	cat := map[string]float64{}
	for _, c := range q["categories"] {
		cat[fmt.Sprint(c["platform"], "/", c["category"])] = duckNum(c["count"])
	}
	rc := map[string]float64{}
	for _, c := range r.Categories {
		rc[c.Platform+"/"+c.Category] = c.Count
	}
	if fmt.Sprint(sortedMap(cat)) != fmt.Sprint(sortedMap(rc)) {
		t.Errorf("categories:\nSQL    %v\nreport %v", sortedMap(cat), sortedMap(rc))
	}
	mx := map[string]string{}
	for _, m := range q["matrix"] {
		mx[fmt.Sprint(m["ecosystem"], "/", m["platform"])] = fmt.Sprint(duckNum(m["tested"]), duckNum(m["passed"]), duckNum(m["failed"]), duckNum(m["n"]), duckNum(m["batches"]), duckNum(m["pass_rate"]))
	}
	rm := map[string]string{}
	for _, m := range r.Matrix {
		pr := -1.0
		if m.PassRate != nil {
			pr = *m.PassRate
		}
		rm[m.Ecosystem+"/"+m.Platform] = fmt.Sprint(m.Tested, m.Passed, m.Failed, m.N, m.Batches, pr)
	}
	if fmt.Sprint(sortedMap(mx)) != fmt.Sprint(sortedMap(rm)) {
		t.Errorf("matrix:\nSQL    %v\nreport %v", sortedMap(mx), sortedMap(rm))
	}
}

func sortedMap[V any](m map[string]V) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprint(k, "=", v))
	}
	sort.Strings(out)
	return out
}

// TestWarehouseDuckDB: the sample exported as Parquet and as CSV, read
// by DuckDB with the documented SQL, gives the report's platform totals,
// categories, matrix and pass rates; with -warehouse-history, a larger
// history too (bench/README.md).
func TestWarehouseDuckDB(t *testing.T) {
	rep := cli(t, "report", "--demo", "--format", "json")
	for _, f := range []string{"parquet", "csv"} {
		dir := filepath.Join(t.TempDir(), "wh")
		if res := cli(t, "export", "--demo", "--format", f, "--out", dir); res.code != 0 {
			t.Fatalf("%s: exit %d: %s", f, res.code, res.stderr)
		}
		compareWarehouse(t, duckdbCheck(t, dir, f), rep.stdout)
	}
	// tsuku's own history (legacy records: batch IDs used for several
	// runs, failure records without a batch ID), and with
	// -warehouse-history a larger one.
	histories := []string{"../../../shared/tsuku-data"}
	if *warehouseHistory != "" {
		histories = append(histories, *warehouseHistory)
	}
	for _, h := range histories {
		if _, err := os.Stat(h); err != nil {
			t.Errorf("%s: %v", h, err)
			continue
		}
		dir := filepath.Join(t.TempDir(), "wh")
		if res := cli(t, "export", "--data", h, "--format", "parquet", "--out", dir); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		rep := cli(t, "report", "--data", h, "--format", "json")
		compareWarehouse(t, duckdbCheck(t, dir, "parquet"), rep.stdout)
	}
}

// csvRows reads every CSV part of a table under dir: its lines without
// the headers, sorted, and the part files' names.
func csvRows(t *testing.T, dir, table string) (rows, files []string) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, table, "*", "*", "*.csv"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		part := strings.TrimPrefix(p, dir+string(filepath.Separator))
		for _, l := range lines[1:] {
			rows = append(rows, filepath.Dir(part)+" "+l)
		}
		files = append(files, part)
	}
	sort.Strings(rows)
	return rows, files
}

// TestWarehouseIncremental: a second export writes only the batches
// recorded since the first (in new part files, the manifest naming every
// batch), and the two together hold exactly the rows of one export made
// at the end; an export with nothing new writes nothing.
func TestWarehouseIncremental(t *testing.T) {
	dir := t.TempDir()
	record := func(i int) {
		res := cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--batch-id", fmt.Sprintf("h-%d", i),
			"--timestamp", fmt.Sprintf("2026-0%d-02T10:00:00Z", i+1), "--summary", os.DevNull,
			fmt.Sprintf("testdata/results/history/batch%d.json", i))
		if res.code != 0 {
			t.Fatalf("record batch %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	out := filepath.Join(t.TempDir(), "wh")
	export := func(dest string) string {
		res := cli(t, "export", "--data", dir, "--format", "csv", "--out", dest)
		if res.code != 0 {
			t.Fatalf("export: exit %d: %s", res.code, res.stderr)
		}
		return res.stderr
	}
	record(1)
	record(2)
	export(out)
	_, first := csvRows(t, out, "batch_runs")
	record(3)
	record(4)
	if msg := export(out); !strings.Contains(msg, "export: 2 batches") {
		t.Errorf("second export: %q", msg)
	}
	runs, files := csvRows(t, out, "batch_runs")
	fails, _ := csvRows(t, out, "failures")
	var second []string
	for _, f := range files {
		if !slices.Contains(first, f) {
			second = append(second, f)
			if !strings.HasSuffix(f, "part-2.csv") {
				t.Errorf("the second export wrote %s", f)
			}
		}
	}
	if len(second) == 0 || len(first) == 0 {
		t.Fatalf("parts: first %v, then %v", first, second)
	}
	whole := filepath.Join(t.TempDir(), "whole")
	export(whole)
	wruns, _ := csvRows(t, whole, "batch_runs")
	wfails, _ := csvRows(t, whole, "failures")
	if !slices.Equal(runs, wruns) || !slices.Equal(fails, wfails) {
		t.Errorf("incremental rows differ from one export:\n%v\n%v\n%v\n%v", runs, wruns, fails, wfails)
	}
	if len(wfails) == 0 {
		t.Error("no failure rows")
	}
	var man struct{ Batches []string }
	b, _ := os.ReadFile(filepath.Join(out, "batchsli-export.json"))
	json.Unmarshal(b, &man)
	if !slices.Equal(man.Batches, []string{"h-1@2026-02-02T10:00:00Z", "h-2@2026-03-02T10:00:00Z", "h-3@2026-04-02T10:00:00Z", "h-4@2026-05-02T10:00:00Z"}) {
		t.Errorf("manifest batches %v", man.Batches)
	}
	if msg := export(out); !strings.Contains(msg, "nothing new") {
		t.Errorf("third export: %q", msg)
	}
	if _, again := csvRows(t, out, "batch_runs"); len(again) != len(files) {
		t.Errorf("an export with nothing new wrote files")
	}
	rep := cli(t, "report", "--data", dir, "--format", "json", "--now", "2026-06-01T00:00:00Z")
	compareWarehouse(t, duckdbCheck(t, out, "csv"), rep.stdout)
}

// TestWarehouseEdges: an export with no failure records still gives the
// documented SQL a failures table to read (an empty file); unreadable
// records are said, with the first one's file and line.
func TestWarehouseEdges(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(t.TempDir(), "results.json")
	os.WriteFile(results, []byte(`[{"recipe": "a", "platform": "linux-debian-glibc-x86_64", "status": "pass", "recipe_version": "1", "attempts": 1}]`), 0o644)
	if res := cli(t, "record", "--data", dir, "--ecosystem", "npm", "--batch-id", "b1", "--timestamp", "2026-03-02T10:00:00Z", "--summary", os.DevNull, results); res.code != 0 {
		t.Fatal(res.stderr)
	}
	for _, f := range []string{"parquet", "csv"} {
		out := filepath.Join(t.TempDir(), "wh")
		if res := cli(t, "export", "--data", dir, "--format", f, "--out", out); res.code != 0 {
			t.Fatal(res.stderr)
		}
		rep := cli(t, "report", "--data", dir, "--format", "json", "--now", "2026-03-03T00:00:00Z")
		compareWarehouse(t, duckdbCheck(t, out, f), rep.stdout)
	}
	metrics, _ := filepath.Glob(filepath.Join(dir, "metrics", "*.jsonl"))
	if len(metrics) == 0 {
		t.Fatal("no metrics file")
	}
	fh, _ := os.OpenFile(metrics[0], os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString("{not json\n")
	fh.Close()
	for _, args := range [][]string{
		{"export", "--data", dir, "--format", "parquet", "--out", filepath.Join(t.TempDir(), "wh")},
		{"export", "--data", dir, "--format", "prometheus"},
	} {
		res := cli(t, args...)
		if res.code != 0 || !strings.Contains(res.stderr, "warning: 1 record left out as unreadable") || !strings.Contains(res.stderr, filepath.Base(metrics[0])+":") {
			t.Errorf("%v on a torn line: exit %d, %q", args, res.code, res.stderr)
		}
	}
	if res := cli(t, "export", "--data", dir, "--format", "csv", "--out", filepath.Join(dir, "wh")); res.code != 2 || !strings.Contains(res.stderr, "inside the data directory") {
		t.Errorf("an export into the data directory: exit %d, %q", res.code, res.stderr)
	}
}

// TestWarehouseErrors: what the warehouse export refuses, saying where.
func TestWarehouseErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "wh")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "--demo", "--format", "parquet"}, 2, "give it with --out DIR"},
		{[]string{"export", "--demo", "--format", "csv", "--out", out, "--by", "family"}, 2, "--by does not apply"},
	} {
		res := cli(t, c.args...)
		if res.code != c.code || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, res.code, res.stderr, c.code, c.want)
		}
	}
	if res := cli(t, "export", "--demo", "--format", "csv", "--out", out); res.code != 0 {
		t.Fatal(res.stderr)
	}
	res := cli(t, "export", "--demo", "--format", "parquet", "--out", out)
	if res.code != 2 || !strings.Contains(res.stderr, filepath.Join(out, "batchsli-export.json")+": the export there is csv") {
		t.Errorf("parquet into a CSV export: exit %d, %q", res.code, res.stderr)
	}
	os.WriteFile(filepath.Join(out, "batchsli-export.json"), []byte(`{"schema_version": 1, "format": "csv", "runs": "x"}`), 0o644)
	res = cli(t, "export", "--demo", "--format", "csv", "--out", out)
	if res.code != 3 || !strings.Contains(res.stderr, "batchsli-export.json: ") {
		t.Errorf("a damaged manifest: exit %d, %q", res.code, res.stderr)
	}
}

// TestWarehouseDocs: docs/WAREHOUSE.md shows the tested DuckDB SQL as it
// is.
func TestWarehouseDocs(t *testing.T) {
	doc, _ := os.ReadFile("../../docs/WAREHOUSE.md")
	sql, _ := os.ReadFile("../../docs/warehouse/duckdb.sql")
	if len(sql) == 0 || !strings.Contains(string(doc), "```sql\n"+string(sql)+"```") {
		t.Error("docs/WAREHOUSE.md does not show docs/warehouse/duckdb.sql as it is")
	}
}

// TestWarehouseDeterministic: two exports of the same data are the same
// bytes, whichever worker read which file.
func TestWarehouseDeterministic(t *testing.T) {
	for _, f := range []string{"parquet", "csv"} {
		var dirs [2]string
		for i := range dirs {
			dirs[i] = filepath.Join(t.TempDir(), "wh")
			if res := cli(t, "export", "--demo", "--format", f, "--out", dirs[i]); res.code != 0 {
				t.Fatal(res.stderr)
			}
		}
		n := 0
		filepath.WalkDir(dirs[0], func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dirs[0], p)
			a, _ := os.ReadFile(p)
			b, err := os.ReadFile(filepath.Join(dirs[1], rel))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs between two exports", f, rel)
			}
			n++
			return nil
		})
		if n < 10 {
			t.Errorf("%s: %d files", f, n)
		}
	}
}
