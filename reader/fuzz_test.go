package reader

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/model"
)

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	if len(files) == 0 {
		f.Fatalf("no seed files match %s", pattern)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkProblems asserts that every problem points at a line of the input.
func checkProblems(t *testing.T, r *Reader, data []byte) {
	lines := bytes.Count(data, []byte("\n")) + 1
	ps, _ := r.Problems()
	for _, p := range ps {
		if p.Line < 1 || p.Line > lines || p.File == "" || p.Message == "" {
			t.Fatalf("problem %+v outside the %d-line input", p, lines)
		}
	}
}

func FuzzMetricsReader(f *testing.F) {
	addSeeds(f, "testdata/*/metrics/batch-runs*.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"metrics/batch-runs.jsonl": {Data: data}}
		r := New(fsys, "d", DefaultOptions)
		err := r.Metrics(func(b *model.BatchRun) {
			if b.BatchID == "" || b.Timestamp.IsZero() || b.Ecosystem == "" {
				t.Fatalf("incomplete record accepted: %+v", b)
			}
			for id, c := range b.Platforms {
				if c.Passed+c.Failed != c.Tested || c.Tested < 0 || c.Skipped < 0 {
					t.Fatalf("platform %s: bad counts accepted: %+v", id, c)
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, r, data)
	})
}

func FuzzFailureReader(f *testing.F) {
	addSeeds(f, "testdata/*/failures/*.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"failures/x.jsonl": {Data: data}}
		r := New(fsys, "d", DefaultOptions)
		err := r.Failures(func(fl *model.Failure) {
			if fl.Environment == "" || fl.PackageID == "" || fl.Category == "" || fl.Ecosystem == "" || fl.Timestamp.IsZero() {
				t.Fatalf("incomplete failure accepted: %+v", fl)
			}
			if fl.Source.Line < 1 {
				t.Fatalf("failure without a line: %+v", fl)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, r, data)
	})
}
