package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/internal/golden"
)

// recordHistory records testdata/results/history/batch1..4.json, a day
// apart, as batches h-1..h-4 of four recipes on two platforms where every
// right answer is plain:
//
//   - a fails on linux in h-2 (newly failing), still fails in h-3, and is
//     fixed by version 1.1 in h-4 (newly fixed, recipe changed: not flaky);
//   - b fails on darwin in h-1 and h-2, and passes in h-3 at version 2.0;
//   - c and d fail on linux blocked by openssl in h-1 and h-2, and both
//     pass in h-3 (a capability gap closed, with 2 of 2 unlocked);
//   - f flips on linux on one version (pass, fail, pass, fail: flaky) and
//     passes on darwin only after a retry in h-2 (flaky).
func recordHistory(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for i := 1; i <= 4; i++ {
		res := cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--batch-id", fmt.Sprintf("h-%d", i),
			"--timestamp", fmt.Sprintf("2026-03-0%dT10:00:00Z", i+1), "--summary", os.DevNull,
			fmt.Sprintf("testdata/results/history/batch%d.json", i))
		if res.code != 0 {
			t.Fatalf("record batch %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	return dir
}

func TestRecipeHistoryGolden(t *testing.T) {
	dir := recordHistory(t)
	outcomes, err := os.ReadFile(filepath.Join(dir, "outcomes", "outcomes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/history/outcomes.jsonl.golden", outcomes)
	checkSchemas(t, dir)

	now := "2026-03-06T00:00:00Z"
	rep := cli(t, "report", "--data", dir, "--now", now, "--last", "2", "--by", "family")
	if rep.code != 0 {
		t.Fatalf("report: exit %d: %s", rep.code, rep.stderr)
	}
	golden.Check(t, "testdata/history/report.golden", []byte(strings.ReplaceAll(rep.stdout, dir, "DATA")))

	js := cli(t, "report", "--data", dir, "--now", now, "--last", "2", "--by", "family", "--format", "json")
	if js.code != 0 {
		t.Fatalf("report --format json: exit %d: %s", js.code, js.stderr)
	}
	var parts struct {
		Outcomes    json.RawMessage `json:"outcomes"`
		Transitions json.RawMessage `json:"transitions"`
		Flaky       json.RawMessage `json:"flaky"`
		Paired      json.RawMessage `json:"paired"`
		Insights    []struct {
			Kind     string `json:"kind"`
			Platform string `json:"platform"`
			Unlocked *int64 `json:"unlocked"`
			Retested *int64 `json:"retested"`
			Recipes  int64  `json:"recipes"`
		} `json:"insights"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &parts); err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(parts, "", "  ")
	golden.Check(t, "testdata/history/report-recipes.json.golden", append(out, '\n'))

	// The answers the history was made to give.
	var got struct {
		Transitions []struct {
			Recipe, Platform, Kind string
			BatchID                string `json:"batch_id"`
		} `json:"transitions"`
		Flaky []struct{ Recipe, Platform string } `json:"flaky"`
	}
	json.Unmarshal([]byte(js.stdout), &got)
	var tr []string
	for _, x := range got.Transitions {
		tr = append(tr, x.BatchID+" "+x.Recipe+" "+x.Platform+" "+x.Kind)
	}
	want := []string{
		"h-3 cargo:b darwin-arm64 newly_fixed",
		"h-3 cargo:a linux-debian-glibc-x86_64 still_failing",
		"h-3 cargo:c linux-debian-glibc-x86_64 newly_fixed",
		"h-3 cargo:d linux-debian-glibc-x86_64 newly_fixed",
		"h-3 cargo:f linux-debian-glibc-x86_64 newly_fixed",
		"h-4 cargo:a linux-debian-glibc-x86_64 newly_fixed",
		"h-4 cargo:f linux-debian-glibc-x86_64 newly_failing",
	}
	if strings.Join(tr, "\n") != strings.Join(want, "\n") {
		t.Errorf("transitions in the window:\n%s\nwant:\n%s", strings.Join(tr, "\n"), strings.Join(want, "\n"))
	}
	var fl []string
	for _, x := range got.Flaky {
		fl = append(fl, x.Recipe+" "+x.Platform)
	}
	if w := "cargo:f darwin-arm64,cargo:f linux-debian-glibc-x86_64"; strings.Join(fl, ",") != w {
		t.Errorf("flaky = %v, want %s", fl, w)
	}
	closed := false
	for _, in := range parts.Insights {
		if in.Kind == "capability_gap_closed" && in.Platform == "linux-debian-glibc-x86_64" && in.Unlocked != nil && *in.Unlocked == 2 && in.Recipes == 2 {
			closed = true
		}
	}
	if !closed {
		t.Error("the openssl gap on linux, closed in h-3 with 2 of 2 recipes unlocked, is not reported")
	}

	// Outcome records out of history order (as a merge can leave them)
	// give the same report.
	lines := strings.SplitAfter(strings.TrimSuffix(string(outcomes), "\n"), "\n")
	var rev strings.Builder
	for i := len(lines) - 1; i >= 0; i-- {
		rev.WriteString(strings.TrimSuffix(lines[i], "\n") + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "outcomes", "outcomes.jsonl"), []byte(rev.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if again := cli(t, "report", "--data", dir, "--now", now, "--last", "2", "--by", "family", "--format", "json"); again.stdout != js.stdout {
		t.Error("the report differs when the outcome records are out of history order")
	}
	os.WriteFile(filepath.Join(dir, "outcomes", "outcomes.jsonl"), outcomes, 0o644)

	for _, id := range []string{"h-2", "h-4"} {
		s := cli(t, "summary", "--data", dir, "--batch-id", id)
		if s.code != 0 {
			t.Fatalf("summary %s: exit %d: %s", id, s.code, s.stderr)
		}
		golden.Check(t, "testdata/history/summary-"+id+".golden", []byte(s.stdout))
	}
	for _, id := range []string{"cargo:a", "f"} {
		r := cli(t, "recipe", "--data", dir, id)
		if r.code != 0 {
			t.Fatalf("recipe %s: exit %d: %s", id, r.code, r.stderr)
		}
		golden.Check(t, "testdata/history/recipe-"+strings.ReplaceAll(id, ":", "_")+".golden", []byte(r.stdout))
	}
	if r := cli(t, "recipe", "--data", dir, "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("recipe of an unknown recipe: exit %d, %q", r.code, r.stderr)
	}
}
