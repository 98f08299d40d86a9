package reader

import (
	"io/fs"
	"os"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/internal/jsonlite"
	"github.com/batchsli/batchsli/model"
)

func frameOf(line string) jsonlite.Frame {
	return jsonlite.Frame{Data: []byte(line), Line: 1, Lines: 1}
}

// readAll reads a failures file with the fast path on or off and returns
// every record (committed or not), the problems and the file's stats.
func readAll(t *testing.T, data []byte, fast bool, opts Options) ([]model.Failure, []Problem, []FileStat) {
	t.Helper()
	defer func(was bool) { fastFailures = was }(fastFailures)
	fastFailures = fast
	var got []model.Failure
	keep := func(f *model.Failure) {
		c := *f
		if f.ExitCode != nil {
			n := *f.ExitCode
			c.ExitCode = &n
		}
		c.Source.Raw = append([]byte(nil), f.Source.Raw...)
		got = append(got, c)
	}
	opts.OnUncommitted = keep
	r := New(fstest.MapFS{"failures/x.jsonl": {Data: data}}, "d", opts)
	if err := r.Failures(keep); err != nil {
		t.Fatal(err)
	}
	ps, _ := r.Problems()
	return got, ps, r.Files()
}

// checkFastSame asserts that the fast path changes nothing: the same
// records, problems and file stats as the general decoder alone.
func checkFastSame(t *testing.T, data []byte, opts Options) {
	t.Helper()
	slow, slowProbs, slowFiles := readAll(t, data, false, opts)
	fast, fastProbs, fastFiles := readAll(t, data, true, opts)
	if !reflect.DeepEqual(slow, fast) {
		t.Fatalf("records differ with the fast path\n general: %+v\n fast:    %+v", slow, fast)
	}
	if !reflect.DeepEqual(slowProbs, fastProbs) || !reflect.DeepEqual(slowFiles, fastFiles) {
		t.Fatalf("problems or files differ with the fast path\n general: %v %v\n fast:    %v %v", slowProbs, slowFiles, fastProbs, fastFiles)
	}
}

var fastCases = []string{
	// What record writes.
	`{"schema_version":2,"batch_id":"2026-03-02-homebrew-001","ecosystem":"homebrew","environment":"linux-alpine-musl-x86_64","package_id":"homebrew:dexfin","category":"missing_dep","blocked_by":["openssl"],"exit_code":8,"attempts":1,"message":"missing dependency: openssl","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","attempt_id":"a1","ecosystem":"npm","environment":"darwin-arm64","package_id":"npm:x","category":"verify_failed","subcategory":"checksum","blocked_by":["a","b","a"],"exit_code":0,"attempts":3,"message":"café","timestamp":"2026-03-02T08:52:00.5Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z","blocked_by":[]}`,
	// Shapes the fast path leaves to the general decoder.
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","message":"caf\u00e9","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2, "batch_id":"b1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","environment":"f","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b\"1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"jq","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":3,"batch_id":"b1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02 08:52:00"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","attempts":-1,"timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","exit_code":-9,"timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","exit_code":1e2,"timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","message":null,"timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","attempts":99999999999999,"timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","message":"\xff","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":02,"batch_id":"b1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}x`,
	`{"schema_version":2,"batch_id":"b1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z","extra":1}`,
}

// TestFastFailureSame reads each case, and all of them as one file, with
// and without the fast path, with every reader option that changes what
// a record holds.
func TestFastFailureSame(t *testing.T) {
	all := ""
	for _, c := range fastCases {
		all += c + "\n"
		for _, o := range fastOptions {
			checkFastSame(t, []byte(c+"\n"), o)
		}
	}
	for _, o := range fastOptions {
		checkFastSame(t, []byte(all), o)
	}
	// The fast path takes what record writes.
	fd := failureDecoder{in: newIntern()}
	for _, c := range fastCases[:3] {
		if !fd.fastFailure(frameOf(c), func(*model.Failure) {}) {
			t.Errorf("the fast path left %s", c)
		}
	}
}

var fastOptions = []Options{
	{},
	{SkipMessages: true},
	{Reuse: true},
	{Reuse: true, SkipMessages: true, KeepRaw: true},
}

func FuzzFastFailure(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c+"\n"), uint8(0))
	}
	addSeedsWithOption(f, "testdata/*/failures/*.jsonl")
	f.Fuzz(func(t *testing.T, data []byte, opt uint8) {
		checkFastSame(t, data, fastOptions[int(opt)%len(fastOptions)])
	})
}

// naivePlain is plainText byte by byte.
func naivePlain(s []byte) (ascii, ok bool) {
	ascii = true
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return false, false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	return ascii, true
}

func TestPlainText(t *testing.T) {
	base := []byte("abcdefghijklmnopqrstuvwxyz0123456789")
	for n := 0; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range []byte{0x00, 0x1f, 0x20, '\\', '"', 0x7f, 0x80, 0xc3, 0xff, '[', ']', 0x5b, 0x5d, 0x3c} {
				s := append([]byte(nil), base[:n]...)
				s[pos] = c
				a1, o1 := plainText(s)
				a2, o2 := naivePlain(s)
				if a1 != a2 || o1 != o2 {
					t.Fatalf("plainText(%q) = %v %v, want %v %v", s, a1, o1, a2, o2)
				}
			}
		}
	}
}

func FuzzPlainText(f *testing.F) {
	f.Add([]byte("plain text \\ with \x01 and é"))
	f.Fuzz(func(t *testing.T, s []byte) {
		a1, o1 := plainText(s)
		a2, o2 := naivePlain(s)
		if a1 != a2 || o1 != o2 {
			t.Fatalf("plainText(%q) = %v %v, want %v %v", s, a1, o1, a2, o2)
		}
	})
}

// BenchmarkFailureFile reads the failure records of one file of the
// history named by BATCHSLI_BENCH_DATA (its largest), messages kept, as
// validate reads them, the batches' commits known.
func BenchmarkFailureFile(b *testing.B) {
	dir := os.Getenv("BATCHSLI_BENCH_DATA")
	if dir == "" {
		b.Skip("BATCHSLI_BENCH_DATA names no history")
	}
	files, err := New(os.DirFS(dir), dir, Options{}).FailureFiles()
	if err != nil || len(files) == 0 {
		b.Fatal(err)
	}
	largest, size := "", int64(-1)
	for _, f := range files {
		if st, err := fs.Stat(os.DirFS(dir), f); err == nil && st.Size() > size {
			largest, size = f, st.Size()
		}
	}
	commits, err := New(os.DirFS(dir), dir, Options{}).Commits()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		r := New(os.DirFS(dir), dir, Options{Reuse: true, Commits: commits})
		n := 0
		if err := r.FailureFile(largest, func(*model.Failure) { n++ }); err != nil || n == 0 {
			b.Fatal(err, n)
		}
	}
}
