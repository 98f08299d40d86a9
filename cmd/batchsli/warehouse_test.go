package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
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
	if *warehouseHistory != "" {
		dir := filepath.Join(t.TempDir(), "wh")
		if res := cli(t, "export", "--data", *warehouseHistory, "--format", "parquet", "--out", dir); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		rep := cli(t, "report", "--data", *warehouseHistory, "--format", "json")
		compareWarehouse(t, duckdbCheck(t, dir, "parquet"), rep.stdout)
	}
}

