package reader

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/model"
)

// readMetricsLed reads data as a metrics file with the parallel lead on
// (blocks of block bytes, for any file size) or off: the records, as
// JSON with their sources, then the problems, the files' statistics and
// the commits.
func readMetricsLed(t testing.TB, data []byte, lead bool, block int) string {
	defer func(b int, m int64) { leadBlock, leadMin = b, m }(leadBlock, leadMin)
	leadBlock, leadMin = block, 0
	if !lead {
		leadMin = 1 << 62
	}
	fsys := fstest.MapFS{"metrics/batch-runs.jsonl": {Data: data}}
	r := New(fsys, "d", Options{Reuse: true})
	var out strings.Builder
	if err := r.Metrics(func(b *model.BatchRun) {
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "%s %+v\n", j, b.Source)
	}); err != nil {
		t.Fatal(err)
	}
	ps, more := r.Problems()
	c, _ := r.Commits()
	fmt.Fprintf(&out, "problems %v +%d\nfiles %v\ncommits %v\n", ps, more, r.Files(), c.attempt)
	return out.String()
}

// TestMetricsLead reads metrics files whose records are in record's shape
// but for lines of other kinds here and there (blank, CRLF, pretty-printed,
// not JSON, a repeated batch, v1, trailing blanks, a last line without its
// newline), cut into blocks of many sizes: the lead reads what a reading
// on one goroutine reads, with the same problems, lines and statistics.
func TestMetricsLead(t *testing.T) {
	run := func(i int) string {
		return fmt.Sprintf(`{"schema_version":2,"batch_id":"b%d","attempt_id":"a%d","ecosystem":"npm","total":3,"generated":3,"merged":1,"excluded":0,"constrained":0,"platforms":{"linux-debian-glibc-x86_64":{"tested":3,"passed":2,"failed":1,"skipped":0,"duration_seconds":12.5,"infrastructure":0},"darwin-arm64":{"tested":2,"passed":2,"failed":0,"skipped":1,"gated_by":["linux-debian-glibc-x86_64"]}},"macos_minutes_used":4,"timestamp":"2026-03-02T03:35:00Z","duration_seconds":57.5}`, i, i)
	}
	odd := []func(i int) string{
		func(int) string { return "" },
		func(i int) string { return run(i) + "\r" },
		func(i int) string { return strings.Replace(run(i), `,"total"`, ",\n  \"total\"", 1) },
		func(int) string { return "not json" },
		func(int) string { return run(0) },
		func(i int) string {
			return fmt.Sprintf(`{"batch_id":"v1-%d","timestamp":"2026-03-02T03:35:00Z","validated_linux":3,"validated_darwin":1}`, i)
		},
		func(i int) string { return run(i) + "  " },
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 40 {
		var lines []string
		for i := range 60 {
			if trial > 0 && rng.IntN(12) == 0 {
				lines = append(lines, odd[rng.IntN(len(odd))](1000+i))
				continue
			}
			lines = append(lines, run(i))
		}
		data := strings.Join(lines, "\n")
		if trial%3 != 0 {
			data += "\n"
		}
		want := readMetricsLed(t, []byte(data), false, 1<<20)
		for _, block := range []int{16, 300, 461, 1000, 4096, 1 << 20} {
			if got := readMetricsLed(t, []byte(data), true, block); got != want {
				t.Fatalf("trial %d, blocks of %d bytes:\n%s\nwant\n%s", trial, block, got, want)
			}
		}
		if trial == 0 && !strings.Contains(want, "Line:60") {
			t.Fatalf("the clean file's last record is not at line 60:\n%s", want)
		}
	}
}

// FuzzMetricsLead reads any metrics file with the lead on and off.
func FuzzMetricsLead(f *testing.F) {
	f.Add([]byte(`{"schema_version":2,"batch_id":"b","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`+"\n\n{}\n"), uint8(40))
	f.Fuzz(func(t *testing.T, data []byte, block uint8) {
		want := readMetricsLed(t, data, false, 1<<20)
		if got := readMetricsLed(t, data, true, int(block)+1); !reflect.DeepEqual(got, want) {
			t.Fatalf("blocks of %d bytes:\n%s\nwant\n%s", int(block)+1, got, want)
		}
	})
}

// BenchmarkMetricsLead reads the batch-run records of the history named by
// BATCHSLI_BENCH_DATA (for example one written by `batchsli simulate
// --batches 20000`) with the parallel lead and without.
func BenchmarkMetricsLead(b *testing.B) {
	dir := os.Getenv("BATCHSLI_BENCH_DATA")
	if dir == "" {
		b.Skip("BATCHSLI_BENCH_DATA names no history")
	}
	for _, lead := range []bool{true, false} {
		b.Run(fmt.Sprintf("lead=%v", lead), func(b *testing.B) {
			defer func(m int64) { leadMin = m }(leadMin)
			if !lead {
				leadMin = 1 << 62
			}
			b.ReportAllocs()
			for b.Loop() {
				r := New(os.DirFS(dir), dir, Options{Reuse: true, SkipMessages: true})
				n := 0
				if err := r.Metrics(func(*model.BatchRun) { n++ }); err != nil || n == 0 {
					b.Fatal(err, n)
				}
			}
		})
	}
}

// failingFS serves each file as a stream that cannot seek and fails with
// errBroken once at reads past byte at.
type failingFS struct {
	fstest.MapFS
	at int
}

var errBroken = errors.New("input/output error")

func (f failingFS) Open(name string) (fs.File, error) {
	file, err := f.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &failingFile{File: file, left: f.at}, nil
}

type failingFile struct {
	fs.File
	left int
}

func (f *failingFile) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errBroken
	}
	n, err := f.File.Read(p[:min(len(p), f.left)])
	f.left -= n
	return n, err
}

// TestMetricsLeadStream reads a metrics file that cannot seek and breaks
// at many places, with the lead and without: the same records, problems
// (the torn line, then where reading stopped) and statistics.
func TestMetricsLeadStream(t *testing.T) {
	defer func(b int, m int64) { leadBlock, leadMin = b, m }(leadBlock, leadMin)
	var data strings.Builder
	for i := range 200 {
		fmt.Fprintf(&data, `{"schema_version":2,"batch_id":"b%d","platforms":{"linux-debian-glibc-x86_64":{"tested":3,"passed":2,"failed":1,"skipped":0}},"timestamp":"2026-03-02T03:35:00Z"}`+"\n", i)
	}
	read := func(at int) string {
		fsys := failingFS{fstest.MapFS{"metrics/batch-runs.jsonl": {Data: []byte(data.String())}}, at}
		r := New(fsys, "d", Options{Reuse: true})
		var out strings.Builder
		if err := r.Metrics(func(b *model.BatchRun) { fmt.Fprintf(&out, "%s:%d ", b.BatchID, b.Source.Line) }); err != nil {
			t.Fatal(err)
		}
		ps, more := r.Problems()
		fmt.Fprintf(&out, "\nproblems %v +%d\nfiles %v\n", ps, more, r.Files())
		return out.String()
	}
	for _, at := range []int{0, 1, 150, 151, 5000, 12345, data.Len() - 1, data.Len()} {
		leadMin = 1 << 62
		want := read(at)
		if at < data.Len() && !strings.Contains(want, "reading stopped") {
			t.Fatalf("break at %d: no problem says reading stopped:\n%s", at, want)
		}
		leadMin = 0
		for _, block := range []int{64, 151, 1000, 4096} {
			leadBlock = block
			if got := read(at); got != want {
				t.Fatalf("break at %d, blocks of %d bytes:\n%s\nwant\n%s", at, block, got, want)
			}
		}
	}
}

// TestMetricsLeadTruncated cuts a metrics file to a torn line while the
// lead reads it: the torn line is a problem, right after the last record
// read, as when one goroutine reads it.
func TestMetricsLeadTruncated(t *testing.T) {
	defer func(b int, m int64) { leadBlock, leadMin = b, m }(leadBlock, leadMin)
	leadBlock, leadMin = 4096, 0
	dir := t.TempDir()
	p := filepath.Join(dir, "metrics", "batch-runs.jsonl")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var data strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&data, `{"schema_version":2,"batch_id":"b%d","platforms":{"linux-debian-glibc-x86_64":{"tested":3,"passed":2,"failed":1,"skipped":0}},"timestamp":"2026-03-02T03:35:00Z"}`+"\n", i)
	}
	if err := os.WriteFile(p, []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New(os.DirFS(dir), dir, Options{Reuse: true})
	n := 0
	if err := r.Metrics(func(*model.BatchRun) {
		if n++; n == 1 {
			if err := os.Truncate(p, int64(data.Len()/2)); err != nil {
				t.Fatal(err)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	ps, _ := r.Problems()
	if len(ps) != 1 || ps[0].Line != n+1 || !strings.Contains(ps[0].Message, "truncated record") {
		t.Fatalf("%d records, problems %v: want the torn line %d", n, ps, n+1)
	}
}
