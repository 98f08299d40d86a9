package reader

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"

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
