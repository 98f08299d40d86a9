package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestRecordSummaryCheckpoint: record --summary keeps the job summary's
// checkpoint in the data directory's cache; the next record's summary is
// extended from it and writes what the summary computed from the whole
// history writes.
func TestRecordSummaryCheckpoint(t *testing.T) {
	t.Setenv("BATCHSLI_CACHE", "")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	copyTree(t, simulated(t), data)
	for i := range 3 {
		got := filepath.Join(tmp, fmt.Sprintf("got%d.md", i))
		before := summariesExtended
		res := cli(t, "record", "--data", data, "--ecosystem", "npm", "--timestamp", fmt.Sprintf("2026-04-0%dT00:00:00Z", i+1), "--summary", got, batch1)
		if res.code != 0 {
			t.Fatal(res.stderr)
		}
		if n := summariesExtended - before; n != min(i, 1) {
			t.Errorf("record %d: %d summaries extended", i, n)
		}
		t.Setenv("BATCHSLI_CACHE", "off")
		want := filepath.Join(tmp, fmt.Sprintf("want%d.md", i))
		if res := cli(t, "summary", "--data", data, "--output", want); res.code != 0 {
			t.Fatal(res.stderr)
		}
		t.Setenv("BATCHSLI_CACHE", "")
		g, _ := os.ReadFile(got)
		w, _ := os.ReadFile(want)
		if string(g) != string(w) || len(g) == 0 {
			t.Errorf("record %d: the summary from the checkpoint differs from the whole history's:\n%s\n---\n%s", i, g, w)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(data, ".batchsli.cache", "summary-*")); len(m) != 1 {
		t.Errorf("summary checkpoints in the cache: %v", m)
	}
}
