package reader

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/model"
)

// TestFailuresParallel reads each test history with Failures and with
// FailuresParallel (one to three workers): the same records, and the same
// problems, uncommitted records and file statistics in the same order.
// testdata/copies holds a file copied whole and a line copied within a
// file.
func TestFailuresParallel(t *testing.T) {
	dirs := []string{"testdata/bad", "testdata/formats", "testdata/tsuku", "testdata/uncommitted", "testdata/copies"}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
		// Which copy of a repeated record counts depends on which worker
		// met it first; the copies are the same record but for where they
		// are (the problem names the later one either way).
		record := func(f *model.Failure) string {
			j, _ := json.Marshal(f)
			return fmt.Sprint(string(j), f.RawCategory)
		}
		seq := New(os.DirFS(dir), dir, DefaultOptions)
		var want []string
		if err := seq.Failures(func(f *model.Failure) { want = append(want, record(f)) }); err != nil {
			t.Fatal(err)
		}
		sort.Strings(want)
		for workers := 1; workers <= 3; workers++ {
			par := New(os.DirFS(dir), dir, DefaultOptions)
			got := make([][]string, workers)
			fns := make([]func(*model.Failure), workers)
			for w := range fns {
				fns[w] = func(f *model.Failure) { got[w] = append(got[w], record(f)) }
			}
			if err := par.FailuresParallel(fns); err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, g := range got {
				all = append(all, g...)
			}
			sort.Strings(all)
			if !reflect.DeepEqual(all, want) {
				t.Errorf("%s, %d workers: %d records, want %d", dir, workers, len(all), len(want))
			}
			sp, sd := seq.Problems()
			pp, pd := par.Problems()
			su, sm := seq.Uncommitted()
			pu, pm := par.Uncommitted()
			if !reflect.DeepEqual(sp, pp) || sd != pd || !reflect.DeepEqual(su, pu) || sm != pm || !reflect.DeepEqual(seq.Files(), par.Files()) {
				t.Errorf("%s, %d workers:\n problems %v (+%d)\n want     %v (+%d)\n uncommitted %v (+%d)\n want        %v (+%d)\n files %v\n want  %v",
					dir, workers, pp, pd, sp, sd, pu, pm, su, sm, par.Files(), seq.Files())
			}
		}
	}
}

// TestCopiesDifferInEcosystem reads two records that differ only in their
// ecosystem, in two files, in both orders and in parallel: they are two
// records, not a copy, so both count whichever is read first.
func TestCopiesDifferInEcosystem(t *testing.T) {
	run := `{"schema_version":2,"batch_id":"b1","attempt_id":"a1","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}` + "\n"
	rec := `{"schema_version":2,"batch_id":"b1","attempt_id":"a1","ecosystem":"%s","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}` + "\n"
	for _, names := range [][2]string{{"a", "b"}, {"b", "a"}} {
		fsys := fstest.MapFS{
			"metrics/batch-runs.jsonl":        {Data: []byte(run)},
			"failures/" + names[0] + ".jsonl": {Data: []byte(fmt.Sprintf(rec, "npm"))},
			"failures/" + names[1] + ".jsonl": {Data: []byte(fmt.Sprintf(rec, "pypi"))},
		}
		for workers := 1; workers <= 2; workers++ {
			r := New(fsys, "d", DefaultOptions)
			ecos := make([][]string, workers)
			fns := make([]func(*model.Failure), workers)
			for w := range fns {
				fns[w] = func(f *model.Failure) { ecos[w] = append(ecos[w], f.Ecosystem) }
			}
			if err := r.FailuresParallel(fns); err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, e := range ecos {
				all = append(all, e...)
			}
			sort.Strings(all)
			if ps, _ := r.Problems(); len(ps) != 0 || !reflect.DeepEqual(all, []string{"npm", "pypi"}) {
				t.Errorf("%v, %d workers: counted %v, problems %v", names, workers, all, ps)
			}
		}
	}
}
