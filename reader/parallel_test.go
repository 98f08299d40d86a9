package reader

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

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

// TestCopiesInterleaved reads files in which a batch's records come in
// several runs (batches interleaved), and copies of lines of one file sit in
// others in another order, with one to four workers, many times: each
// distinct record counts once, and the copies are the problems, at the
// later copy in file order, as the sequential reader finds them.
func TestCopiesInterleaved(t *testing.T) {
	var runs strings.Builder
	const batches = 6
	for b := range batches {
		fmt.Fprintf(&runs, `{"schema_version":2,"batch_id":"b%d","attempt_id":"a","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`+"\n", b)
	}
	line := func(b, pkg int) string {
		return fmt.Sprintf(`{"schema_version":2,"batch_id":"b%d","attempt_id":"a","ecosystem":"npm","environment":"e","package_id":"npm:p%d","timestamp":"2026-03-02T08:52:00Z"}`+"\n", b, pkg)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fsys := fstest.MapFS{"metrics/batch-runs.jsonl": {Data: []byte(runs.String())}}
	distinct := map[string]bool{}
	var pool []string
	for f := range 5 {
		var lines []string
		for range 200 {
			var l string
			if len(pool) > 0 && rng.IntN(4) == 0 {
				l = pool[rng.IntN(len(pool))] // a copy, maybe of this file's own line
			} else {
				l = line(rng.IntN(batches), rng.IntN(300))
			}
			pool = append(pool, l)
			distinct[l] = true
			lines = append(lines, l)
		}
		fsys[fmt.Sprintf("failures/f%d.jsonl", f)] = &fstest.MapFile{Data: []byte(strings.Join(lines, ""))}
	}
	seq := New(fsys, "d", DefaultOptions)
	n := 0
	if err := seq.Failures(func(*model.Failure) { n++ }); err != nil {
		t.Fatal(err)
	}
	sp, _ := seq.Problems()
	if n != len(distinct) || n+len(sp) != 1000 {
		t.Fatalf("sequential: %d records and %d problems, want %d records of 1000 lines", n, len(sp), len(distinct))
	}
	for workers := 1; workers <= 4; workers++ {
		for range 20 {
			par := New(fsys, "d", DefaultOptions)
			counts := make([]int, workers)
			fns := make([]func(*model.Failure), workers)
			for w := range fns {
				fns[w] = func(*model.Failure) { counts[w]++ }
			}
			if err := par.FailuresParallel(fns); err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, c := range counts {
				got += c
			}
			if pp, _ := par.Problems(); got != n || !reflect.DeepEqual(pp, sp) {
				t.Fatalf("%d workers: %d records, want %d; problems\n%v\nwant\n%v", workers, got, n, pp, sp)
			}
		}
	}
}

// TestCopiesNested reads, from a record's callback, another file of the
// same pass with the same batch: no lock is held while a record is handed
// on, so the inner reading finishes, and both records count.
func TestCopiesNested(t *testing.T) {
	run := `{"schema_version":2,"batch_id":"b1","attempt_id":"a","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}` + "\n"
	rec := `{"schema_version":2,"batch_id":"b1","attempt_id":"a","ecosystem":"npm","environment":"e","package_id":"npm:%s","timestamp":"2026-03-02T08:52:00Z"}` + "\n"
	fsys := fstest.MapFS{
		"metrics/batch-runs.jsonl": {Data: []byte(run)},
		"failures/a.jsonl":         {Data: []byte(fmt.Sprintf(rec, "x"))},
		"failures/b.jsonl":         {Data: []byte(fmt.Sprintf(rec, "y"))},
	}
	done := make(chan int)
	go func() {
		copies := NewCopies()
		n := 0
		outer := New(fsys, "d", Options{Copies: copies})
		outer.FailureFile("failures/a.jsonl", func(*model.Failure) {
			n++
			New(fsys, "d", Options{Copies: copies}).FailureFile("failures/b.jsonl", func(*model.Failure) { n++ })
		})
		done <- n
	}()
	select {
	case n := <-done:
		if n != 2 {
			t.Errorf("%d records counted, want 2", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a reading inside another's callback did not finish")
	}
}

// TestCopiesFieldBounds reads two records whose blockers hold the same
// bytes split differently (one blocker holding U+0001, and two): they
// are two records, and both count.
func TestCopiesFieldBounds(t *testing.T) {
	run := `{"schema_version":2,"batch_id":"b1","attempt_id":"a","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}` + "\n"
	rec := `{"schema_version":2,"batch_id":"b1","attempt_id":"a","ecosystem":"npm","environment":"e","package_id":"npm:x","blocked_by":%s,"timestamp":"2026-03-02T08:52:00Z"}` + "\n"
	for _, pair := range [][2]string{{`["p\u0001q"]`, `["p","q"]`}, {`["p\u0000"]`, `["p",""]`}, {`[""]`, `[]`}} {
		fsys := fstest.MapFS{
			"metrics/batch-runs.jsonl": {Data: []byte(run)},
			"failures/a.jsonl":         {Data: []byte(fmt.Sprintf(rec, pair[0]) + fmt.Sprintf(rec, pair[1]))},
		}
		r := New(fsys, "d", DefaultOptions)
		n := 0
		if err := r.Failures(func(*model.Failure) { n++ }); err != nil {
			t.Fatal(err)
		}
		if ps, _ := r.Problems(); n != 2 || len(ps) != 0 {
			t.Errorf("blockers %s and %s: %d counted, problems %v", pair[0], pair[1], n, ps)
		}
	}
}

// TestCopiesDifferInTime: two records that differ only in their time, by
// 2^64 nanoseconds (about 585 years, where Unix nanoseconds wrap to the
// same number), are two records, not a copy.
func TestCopiesDifferInTime(t *testing.T) {
	run := `{"schema_version":2,"batch_id":"b1","attempt_id":"a1","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}` + "\n"
	rec := `{"schema_version":2,"batch_id":"b1","attempt_id":"a1","ecosystem":"npm","environment":"e","package_id":"npm:jq","timestamp":"%s"}` + "\n"
	ts := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	far := time.Unix(ts.Unix()+18446744073, 709551616).UTC()
	if far.UnixNano() != ts.UnixNano() {
		t.Fatalf("%s does not wrap to %s", far, ts)
	}
	fsys := fstest.MapFS{
		"metrics/batch-runs.jsonl": {Data: []byte(run)},
		"failures/npm.jsonl": {Data: []byte(fmt.Sprintf(rec, ts.Format(time.RFC3339Nano)) +
			fmt.Sprintf(rec, far.Format(time.RFC3339Nano)))},
	}
	r := New(fsys, "d", DefaultOptions)
	n := 0
	if err := r.Failures(func(*model.Failure) { n++ }); err != nil {
		t.Fatal(err)
	}
	if ps, _ := r.Problems(); len(ps) != 0 || n != 2 {
		t.Errorf("counted %d records, problems %v; want 2, none", n, ps)
	}
}
