package simulate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

func TestSimulateDeterministicAndShaped(t *testing.T) {
	o := Options{Batches: 40, Seed: 3, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	a, b := t.TempDir(), t.TempDir()
	if _, err := Write(a, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(b, o); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"metrics/batch-runs.jsonl", "failures/homebrew.jsonl"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with one seed", f)
		}
	}
	if _, err := Write(a, o); err == nil {
		t.Error("simulate wrote over an existing history")
	}

	r := reader.New(os.DirFS(a), a, reader.DefaultOptions)
	ecos := map[string]bool{}
	n := 0
	r.Metrics(func(run *model.BatchRun) {
		n++
		ecos[run.Ecosystem] = true
		if len(run.Platforms) != 11 {
			t.Errorf("%s has %d platforms, want 11", run.BatchID, len(run.Platforms))
		}
		first := run.Platforms["linux-debian-glibc-x86_64"]
		if first.Skipped != 0 || first.Tested != run.Total {
			t.Errorf("%s: every recipe starts on Debian x86_64: %+v", run.BatchID, first)
		}
		for id, c := range run.Platforms {
			// Progressive validation: what failed first is skipped elsewhere.
			if id != "linux-debian-glibc-x86_64" && c.Skipped < first.Failed {
				t.Errorf("%s: %s skipped %d, fewer than the %d that failed first", run.BatchID, id, c.Skipped, first.Failed)
			}
		}
		if run.MacOSMinutesUsed == nil {
			t.Errorf("%s has no macOS minutes", run.BatchID)
		}
	})
	if n != o.Batches || len(ecos) < 5 {
		t.Errorf("%d batches over %d ecosystems", n, len(ecos))
	}
	if ps, _ := r.Problems(); len(ps) > 0 {
		t.Errorf("problems: %v", ps)
	}
}
