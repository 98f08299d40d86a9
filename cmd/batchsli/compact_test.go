package main

import (
	"encoding/json"
	"fmt"

	"context"
	"github.com/batchsli/batchsli/analyze"

	"github.com/batchsli/batchsli/store"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/internal/golden"
)

// compactInput lays out every record format, uncommitted records, torn and
// bad lines, and a file that is not data, in one directory.
func compactInput(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	copyDir(t, "../../reader/testdata/formats", dir, "")
	copyDir(t, "../../reader/testdata/uncommitted", dir, "u-")
	copyDir(t, "../../reader/testdata/bad", dir, "bad-")
	// A record of a newer schema makes compact refuse (see
	// TestCompactRefusesNewerRecords): leave it out here.
	p := filepath.Join(dir, "metrics", "batch-runs-bad-.jsonl")
	b, _ := os.ReadFile(p)
	var keep []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if !strings.Contains(l, `"schema_version":9`) {
			keep = append(keep, l)
		}
	}
	os.WriteFile(p, []byte(strings.Join(keep, "")), 0o644)
	return dir
}

// TestCompactRefusesNewerRecords: records a newer batchsli wrote are not
// this one's to move aside.
func TestCompactRefusesNewerRecords(t *testing.T) {
	for _, sub := range []string{"metrics/batch-runs.jsonl", "failures/cargo.jsonl"} {
		dir := t.TempDir()
		writeFile(t, dir, sub, `{"schema_version":3,"batch_id":"x","ecosystem":"cargo","environment":"linux-x86_64","package_id":"cargo:a","total":1,"platforms":{},"timestamp":"2026-03-02T10:00:00Z"}`+"\n")
		before := tree(t, dir)
		res := cli(t, "compact", "--data", dir)
		if res.code != 3 || !strings.Contains(res.stderr, "a record written by a newer batchsli") {
			t.Errorf("%s: exit %d, %q", sub, res.code, res.stderr)
		}
		if tree(t, dir) != before {
			t.Errorf("%s: compact changed the data", sub)
		}
	}
}

// copyDir copies src's metrics/ and failures/ files into dst, prefixing
// data files' names (metrics files keep their batch-runs prefix).
func copyDir(t *testing.T, src, dst, prefix string) {
	t.Helper()
	for _, sub := range []string{"metrics", "failures"} {
		ents, _ := os.ReadDir(filepath.Join(src, sub))
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(src, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			name := prefix + e.Name()
			if sub == "metrics" && strings.HasPrefix(e.Name(), "batch-runs") {
				name = "batch-runs-" + prefix + strings.TrimPrefix(e.Name(), "batch-runs")
			}
			writeFile(t, filepath.Join(dst, sub), name, string(data))
		}
	}
}

// TestCompactGolden: the canonical layout, the quarantine file and what
// compact says, on every format; validate is clean afterwards except for
// the bad records kept inside readable grouped lines.
func TestCompactGolden(t *testing.T) {
	dir := compactInput(t)
	want := comparableReport(t, dir)
	compactClock = func() time.Time { return time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC) }
	defer func() { compactClock = time.Now }()
	res := cli(t, "compact", "--data", dir)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	out := strings.ReplaceAll(res.stdout, dir, "DATA")
	golden.Check(t, "testdata/compact/formats.golden", []byte("$ batchsli compact --data DATA\n"+out+tree(t, dir)))
	if got := comparableReport(t, dir); got != want {
		t.Errorf("the report changed:\n%s\nwant\n%s", got, want)
	}
	v := cli(t, "validate", "--data", dir, "--format", "json")
	if strings.Contains(v.stdout, "uncommitted: ") {
		t.Errorf("uncommitted records remain:\n%s", v.stdout)
	}
	// Compacting again changes nothing.
	before := tree(t, dir)
	if res := cli(t, "compact", "--data", dir); res.code != 0 {
		t.Fatalf("second compact: exit %d: %s", res.code, res.stderr)
	}
	if after := tree(t, dir); after != before {
		t.Errorf("a second compact changed the data:\n%s", after)
	}
}

// TestCompactRefusesWhileAWriterHoldsTheLock.
func TestCompactRefusesWhileAWriterHoldsTheLock(t *testing.T) {
	dir := compactInput(t)
	unlock, err := store.Lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	before := tree(t, dir)
	res := cli(t, "compact", "--data", dir)
	if res.code != 3 || !strings.Contains(res.stderr, "another batchsli writer holds the lock") {
		t.Errorf("exit %d, %q", res.code, res.stderr)
	}
	if after := tree(t, dir); after != before {
		t.Errorf("compact changed the data while refused")
	}
}

// commandTotals is what validate and report count: failure records and
// batch runs.
func commandTotals(t *testing.T, dir string) (validateRuns, validateFails, reportFails int) {
	t.Helper()
	res := cli(t, "validate", "--data", dir, "--format", "json")
	var inv struct {
		BatchRuns      int `json:"batch_runs"`
		FailureRecords int `json:"failure_records"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &inv); err != nil {
		t.Fatalf("validate: %v\n%s%s", err, res.stdout, res.stderr)
	}
	res = cli(t, "report", "--data", dir, "--format", "json", "--by", "family", "--now", "2026-06-01T00:00:00Z")
	var rep struct {
		Platforms []struct {
			Recipe int `json:"recipe_failures"`
			Infra  int `json:"infrastructure_failures"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s%s", err, res.stdout, res.stderr)
	}
	for _, p := range rep.Platforms {
		reportFails += p.Recipe + p.Infra
	}
	return inv.BatchRuns, inv.FailureRecords, reportFails
}

// comparableReport is the report over dir without what depends on the
// layout (see analyze.Comparable), with validate's counts.
func comparableReport(t *testing.T, dir string) string {
	t.Helper()
	fsys, release, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	rep, err := analyze.BuildReport(fsys, dir, analyze.DefaultReportOptions(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(analyze.Comparable(rep))
	vr, vf, rf := commandTotals(t, dir)
	return fmt.Sprintf("%s\nvalidate %d %d report %d", j, vr, vf, rf)
}

// TestCompactOddEcosystems: a record whose ecosystem is no plain name (it
// could climb out of the folder as a file name) goes to a file named other,
// and reads back the same; nothing is written outside.
func TestCompactOddEcosystems(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	writeFile(t, dir, "metrics/batch-runs.jsonl", `{"schema_version":1,"batch_id":"b","ecosystem":"Home/brew","platforms":{"linux-x86_64":{"tested":2,"passed":0,"failed":2}},"timestamp":"2026-02-01T00:00:00Z"}`+"\n")
	writeFile(t, dir, "failures/x.jsonl", `{"ecosystem":"../../../PWNED","environment":"linux-x86_64","package_id":"foo","timestamp":"2026-02-01T00:00:00Z"}`+"\n"+
		`{"ecosystem":"a\u0001b","environment":"linux-x86_64","package_id":"bar","timestamp":"2026-02-01T00:00:00Z"}`+"\n")
	want := comparableReport(t, dir)
	if res := cli(t, "compact", "--data", dir); res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if got := comparableReport(t, dir); got != want {
		t.Errorf("the report changed:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "failures", "other-2026-02.jsonl")); err != nil {
		t.Error(err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("compact wrote beside the data directory: %v", ents)
	}
}

// TestCompactReadsWhatReadersRead: a data file whose name readers refuse (a
// bidi control in it) is not data for compact either: kept as it is among
// failures, refused among metrics.
func TestCompactReadsWhatReadersRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	writeFile(t, dir, "metrics/batch-runs.jsonl", `{"schema_version":2,"batch_id":"b","ecosystem":"npm","total":1,"platforms":{"linux-x86_64":{"tested":1,"passed":1,"failed":0,"skipped":0}},"timestamp":"2026-02-01T00:00:00Z"}`+"\n")
	odd := "x\u202e.jsonl"
	writeFile(t, dir, "failures/"+odd, `{"ecosystem":"npm","environment":"linux-x86_64","package_id":"npm:a","timestamp":"2026-02-01T00:00:00Z"}`+"\n")
	want := comparableReport(t, dir)
	if res := cli(t, "compact", "--data", dir); res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if got := comparableReport(t, dir); got != want {
		t.Errorf("the report changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "failures", odd)); err != nil {
		t.Errorf("the oddly named file was not kept: %v", err)
	}
	writeFile(t, dir, "metrics/batch-runs-"+odd, "{}\n")
	if res := cli(t, "compact", "--data", dir); res.code != 3 || !strings.Contains(res.stderr, "cannot be read") {
		t.Errorf("odd metrics name: exit %d, %q", res.code, res.stderr)
	}
}
