package reader

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// addSeedsWithOption adds each file matching pattern, with a different
// option byte for each, to a fuzz test of (data, option).
func addSeedsWithOption(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	if len(files) == 0 {
		f.Fatalf("no seed files match %s", pattern)
	}
	for i, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(i))
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
				if c.Infrastructure != nil && (*c.Infrastructure < 0 || *c.Infrastructure > c.Failed) {
					t.Fatalf("%s: infrastructure %d of %d failed accepted", id, *c.Infrastructure, c.Failed)
				}
				if c.Passed+c.Failed != c.Tested || c.Tested < 0 || c.Skipped < 0 {
					t.Fatalf("platform %s: bad counts accepted: %+v", id, c)
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, r, data)
		sameWithReuse(t, fsys, func(r *Reader, fn func(string)) error {
			return r.Metrics(func(b *model.BatchRun) {
				j, _ := json.Marshal(b)
				known := map[string]bool{}
				for id, c := range b.Platforms {
					known[id] = c.SkippedKnown
				}
				fn(fmt.Sprint(string(j), b.Source, known))
			})
		})
	})
}

// sameWithReuse checks that reading into reused memory yields the same
// records and problems as reading each record into its own.
func sameWithReuse(t *testing.T, fsys fstest.MapFS, read func(*Reader, func(string)) error) {
	var out [2][]string
	var probs [2]int
	for i, reuse := range []bool{false, true} {
		r := New(fsys, "d", Options{Reuse: reuse})
		if err := read(r, func(s string) { out[i] = append(out[i], s) }); err != nil {
			t.Fatal(err)
		}
		ps, more := r.Problems()
		probs[i] = len(ps) + more
	}
	if fmt.Sprint(out[0]) != fmt.Sprint(out[1]) || probs[0] != probs[1] {
		t.Fatalf("Reuse changes what is read:\n%v\n%v", out[0], out[1])
	}
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
		sameWithReuse(t, fsys, func(r *Reader, fn func(string)) error {
			return r.Failures(func(f *model.Failure) {
				j, _ := json.Marshal(f)
				fn(fmt.Sprint(string(j), f.Source, f.RawCategory))
			})
		})
	})
}
