package analyze

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/simulate"
)

// TestEntryLog writes lists of entries by position, in order and out of
// it, and reads them back forward, backward and at random, with chunks
// smaller and larger than a list, from the file and from memory.
func TestEntryLog(t *testing.T) {
	defer func(c int64, s bool) { logChunk, spillOutcomes = c, s }(logChunk, spillOutcomes)
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[int][]uint32{}
	var order []int
	for p := range 300 {
		if rng.IntN(5) == 0 {
			continue // a position without entries
		}
		es := make([]uint32, rng.IntN(40))
		for i := range es {
			es[i] = rng.Uint32()
		}
		want[p] = es
		order = append(order, p)
	}
	// Positions 0..149 in order, the rest shuffled (a history read
	// again after its records came out of order).
	rest := order[len(order)/2:]
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	defer func(b int, w func(*os.File, []byte) (int, error)) { logBuf, logWrite = b, w }(logBuf, logWrite)
	for _, spill := range []bool{true, false} {
		for _, chunk := range []int64{4, 64, 1 << 20} {
			// failAt: the file takes that many bytes, then is full
			// (-1: never); the log moves what it wrote to memory.
			for _, failAt := range []int{-1, 0, 100, 2000} {
				spillOutcomes, logChunk, logBuf = spill, chunk, 64
				written := 0
				logWrite = func(f *os.File, b []byte) (int, error) {
					if failAt >= 0 && written+len(b) > failAt {
						n, _ := f.Write(b[:failAt-written])
						written += n
						return n, errors.New("no space left on device")
					}
					n, err := f.Write(b)
					written += n
					return n, err
				}
				l := newEntryLog(true)
				if spill && l.f == nil {
					t.Fatal("no temporary file")
				}
				for _, p := range order {
					es := slices.Clone(want[p])
					l.put(p, es)
					clear(es) // put may not keep what it is given
				}
				if err := l.done(); err != nil {
					t.Fatal(err)
				}
				if got := l.positions(); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
					t.Fatalf("spill %t chunk %d: positions %v", spill, chunk, got)
				}
				check := func(how string, p int, backward bool) {
					t.Helper()
					got := l.get(p, backward)
					if l.has(p) != (want[p] != nil) || len(got) != len(want[p]) || !slices.Equal(got, want[p]) {
						t.Fatalf("spill %t chunk %d %s: position %d: %v, want %v", spill, chunk, how, p, got, want[p])
					}
				}
				for p := range 300 {
					check("forward", p, false)
				}
				for p := 299; p >= 0; p-- {
					check("backward", p, true)
				}
				for range 500 {
					p := rng.IntN(300)
					check("at random", p, rng.IntN(2) == 0)
				}
				if err := l.failed(); err != nil {
					t.Fatal(err)
				}
				if spill && failAt >= 0 && (l.mem == nil || l.f != nil) {
					t.Fatalf("failing at %d: the log did not move to memory", failAt)
				}
				l.close()
				l.close() // twice is harmless
			}
		}
	}
}

// TestEntryLogReadError checks that a file that cannot be read back fails
// the log, rather than giving other entries.
func TestEntryLogReadError(t *testing.T) {
	defer func(r func(*os.File, []byte, int64) (int, error)) { logReadAt = r }(logReadAt)
	l := newEntryLog(true)
	if l.f == nil {
		t.Skip("no temporary file")
	}
	l.put(0, []uint32{1, 2, 3})
	if err := l.done(); err != nil {
		t.Fatal(err)
	}
	logReadAt = func(f *os.File, b []byte, off int64) (int, error) {
		n, _ := f.ReadAt(b[:len(b)-1], off)
		return n, io.EOF // short
	}
	if got := l.get(0, false); got != nil || l.failed() == nil {
		t.Fatalf("a short read gave %v, error %v", got, l.failed())
	}
	l.close()
}

// TestEntryLogLeavesNothing checks that the temporary file has no name
// once open, so that nothing is left behind.
func TestEntryLogLeavesNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("an open file cannot be removed on Windows: it is removed when closed")
	}
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	l := newEntryLog(true)
	l.put(0, []uint32{1, 2, 3})
	if err := l.done(); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Fatalf("%d files left in the temporary directory", len(names))
	}
	if got := l.get(0, false); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("got %v", got)
	}
	l.close()
}

// TestSpilledOutcomes checks that keeping the per-batch outcomes in a
// temporary file changes no report: on a history whose outcome records
// come in order and on one where they do not (read twice), with chunks of
// a few entries so that every read back crosses chunks; and that a report
// without a usable temporary directory is the same too.
func TestSpilledOutcomes(t *testing.T) {
	defer func(c int64, s bool) { logChunk, spillOutcomes = c, s }(logChunk, spillOutcomes)
	dir := t.TempDir()
	so := simulate.DefaultOptions
	so.Batches, so.Seed = 120, 4
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	shuffled := t.TempDir()
	for _, sub := range []string{"metrics", "failures", "outcomes"} {
		if err := os.CopyFS(filepath.Join(shuffled, sub), os.DirFS(filepath.Join(dir, sub))); err != nil {
			t.Fatal(err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(shuffled, "outcomes", "*.jsonl"))
	if len(matches) == 0 {
		t.Fatal("the simulated history has no outcome records")
	}
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
		for i := range lines {
			lines[i] = strings.TrimSuffix(lines[i], "\n") + "\n"
		}
		slices.Reverse(lines)
		if err := os.WriteFile(m, []byte(strings.Join(lines, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	whole := DefaultReportOptions(now)
	recent := whole
	recent.Last = 40
	report := func(d string, o ReportOptions) string {
		t.Helper()
		rep, _, err := buildReport(os.DirFS(d), "data", o)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rep)
		return string(b)
	}
	tmp := os.TempDir()
	write, readAt := logWrite, logReadAt
	defer func() { logWrite, logReadAt = write, readAt }()
	for _, d := range []string{dir, shuffled} {
		for _, o := range []ReportOptions{whole, recent} {
			spillOutcomes = false
			want := report(d, o)
			if !strings.Contains(want, `"paired":[{`) || !strings.Contains(want, `"flakes":{`) {
				t.Fatalf("the report has no paired comparison or flake rates to compare:\n%.500s", want)
			}
			spillOutcomes = true
			for _, chunk := range []int64{8, 1 << 20} {
				logChunk = chunk
				if got := report(d, o); got != want {
					t.Fatalf("%s, last %d, chunk %d: spilled, the report differs:\n%s\n%s", d, o.Last, chunk, got, want)
				}
			}
			t.Setenv("TMPDIR", filepath.Join(d, "no such directory"))
			if got := report(d, o); got != want {
				t.Fatalf("%s, last %d: without a temporary directory, the report differs", d, o.Last)
			}
			t.Setenv("TMPDIR", tmp)
			// A temporary directory that fills up: the same report.
			logWrite = func(*os.File, []byte) (int, error) { return 0, errors.New("no space left on device") }
			if got := report(d, o); got != want {
				t.Fatalf("%s, last %d: with a full temporary directory, the report differs", d, o.Last)
			}
			logWrite = write
			// A file that cannot be read back: no report. (Records read
			// again after sorting are kept in memory: no file is read.)
			logReadAt = func(*os.File, []byte, int64) (int, error) { return 0, errors.New("input/output error") }
			if _, _, err := buildReport(os.DirFS(d), "data", o); d == dir && (err == nil || !strings.Contains(err.Error(), "temporary file")) {
				t.Fatalf("%s, last %d: a temporary file that cannot be read gave %v", d, o.Last, err)
			} else if d == shuffled && err != nil {
				t.Fatalf("%s, last %d: %v", d, o.Last, err)
			}
			logReadAt = readAt
			// A report that cannot read the failure records.
			buildReport(failingFS{os.DirFS(d)}, "data", o)
			if n := openLogs.Load(); n != 0 {
				t.Fatalf("%s, last %d: %d temporary files left open", d, o.Last, n)
			}
		}
	}
}

// failingFS fails to open any failure file.
type failingFS struct{ fs.FS }

func (f failingFS) Open(name string) (fs.File, error) {
	if strings.HasPrefix(name, "failures/") {
		return nil, errors.New("input/output error")
	}
	return f.FS.Open(name)
}
