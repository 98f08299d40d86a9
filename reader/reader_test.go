package reader

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/internal/golden"
	"github.com/batchsli/batchsli/model"
)

// dump reads a data directory and writes every record, file and problem, one
// per line, so a golden file pins down what the reader makes of each format.
func dump(t *testing.T, dir string, opts Options) ([]byte, *Reader) {
	t.Helper()
	r := New(os.DirFS(dir), dir, opts)
	var b strings.Builder
	err := r.Metrics(func(run *model.BatchRun) {
		j, _ := json.Marshal(run)
		fmt.Fprintf(&b, "run %s:%d v%d %s\n", run.Source.File, run.Source.Line, run.SchemaVersion, j)
		// Skips are known where the record counts them: v2 records do,
		// unless (like no-skipped) they leave the field out.
		for id, c := range run.Platforms {
			if want := run.SchemaVersion == 2 && run.BatchID != "no-skipped"; c.SkippedKnown != want {
				t.Errorf("%s %s: SkippedKnown = %v for v%d", run.BatchID, id, c.SkippedKnown, run.SchemaVersion)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Failures(func(f *model.Failure) {
		j, _ := json.Marshal(f)
		fmt.Fprintf(&b, "failure %s:%d v%d raw=%q %s\n", f.Source.File, f.Source.Line, f.SchemaVersion, f.RawCategory, j)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Files() {
		fmt.Fprintf(&b, "file %s %s: %s, %d records\n", f.Kind, f.Path, f.Format, f.Records)
	}
	ps, more := r.Problems()
	for _, p := range ps {
		fmt.Fprintf(&b, "problem %s\n", p)
	}
	if more > 0 {
		fmt.Fprintf(&b, "more problems: %d\n", more)
	}
	us, more := r.Uncommitted()
	for _, p := range us {
		fmt.Fprintf(&b, "uncommitted %s\n", p)
	}
	if more > 0 {
		fmt.Fprintf(&b, "more uncommitted: %d\n", more)
	}
	return []byte(b.String()), r
}

func TestReadFieldFormats(t *testing.T) {
	for _, dir := range []string{"tsuku", "formats"} {
		t.Run(dir, func(t *testing.T) {
			out, r := dump(t, "testdata/"+dir, DefaultOptions)
			if ps, _ := r.Problems(); len(ps) > 0 {
				t.Errorf("problems reading %s: %v", dir, ps)
			}
			golden.Check(t, "testdata/read-"+dir+".golden", out)
		})
	}
}

// TestReuseReadsTheSame: decoding into reused memory gives the same
// records as decoding each into its own.
func TestReuseReadsTheSame(t *testing.T) {
	for _, dir := range []string{"tsuku", "formats", "bad"} {
		fresh, _ := dump(t, "testdata/"+dir, DefaultOptions)
		o := DefaultOptions
		o.Reuse = true
		reused, _ := dump(t, "testdata/"+dir, o)
		if string(fresh) != string(reused) {
			t.Errorf("%s: reading with Reuse differs", dir)
		}
	}
}

// TestReadUncommitted: failure records count only when their batch's record
// is whole and carries their attempt token (docs/STORAGE.md).
func TestReadUncommitted(t *testing.T) {
	out, r := dump(t, "testdata/uncommitted", DefaultOptions)
	golden.Check(t, "testdata/read-uncommitted.golden", out)
	us, _ := r.Uncommitted()
	var got []string
	for _, u := range us {
		got = append(got, fmt.Sprintf("%s:%d", u.File, u.Line))
	}
	want := []string{
		"testdata/uncommitted/failures/npm.jsonl:2", // batch never committed
		"testdata/uncommitted/failures/npm.jsonl:3", // an earlier attempt of a committed batch
		"testdata/uncommitted/failures/npm.jsonl:4", // no token, batch committed with one
		"testdata/uncommitted/failures/npm.jsonl:6", // batch whose record is torn
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("uncommitted = %v, want %v", got, want)
	}
	for _, id := range []string{"npm:committed", "npm:legacy-v2", "npm:v1-flat"} {
		if !strings.Contains(string(out), "failure ") || !strings.Contains(string(out), `"`+id+`"`) {
			t.Errorf("%s should be read", id)
		}
	}
	// A reader told the commits by another reads the same.
	c, err := r.Commits()
	if err != nil {
		t.Fatal(err)
	}
	r2 := New(os.DirFS("testdata/uncommitted"), "testdata/uncommitted", Options{Commits: c})
	n := 0
	if err := r2.Failures(func(*model.Failure) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("with shared commits: %d failures read, want 4", n)
	}
}

func TestReadBadRecords(t *testing.T) {
	out, r := dump(t, "testdata/bad", DefaultOptions)
	golden.Check(t, "testdata/read-bad.golden", out)
	ps, _ := r.Problems()
	// Every problem names the file and a line.
	for _, p := range ps {
		if p.File == "" || p.Line <= 0 {
			t.Errorf("problem without file:line: %+v", p)
		}
	}
	// The good records around the bad ones are still read.
	for _, id := range []string{"ok-1", "ok-2", "npm:ok"} {
		if !strings.Contains(string(out), `"`+id+`"`) {
			t.Errorf("record %s was not read", id)
		}
	}
	if strings.Contains(string(out), `"ok-3"`) {
		t.Error("ok-3 has trailing garbage on its line and must be reported, not read")
	}
}

func TestMaxProblems(t *testing.T) {
	r := New(os.DirFS("testdata/bad"), "bad", Options{MaxProblems: 2})
	r.Metrics(func(*model.BatchRun) {})
	ps, more := r.Problems()
	if len(ps) != 2 || more == 0 {
		t.Errorf("kept %d problems, %d more; want 2 and some more", len(ps), more)
	}
}

func TestSkipMessages(t *testing.T) {
	r := New(os.DirFS("testdata/formats"), "formats", Options{SkipMessages: true})
	n := 0
	r.Failures(func(f *model.Failure) {
		n++
		if f.Message != "" {
			t.Errorf("message kept: %q", f.Message)
		}
	})
	if n != 7 {
		t.Errorf("read %d failures, want 7", n)
	}
}

func TestParseUTCAgreesWithParseTime(t *testing.T) {
	for _, s := range []string{"2026-03-01T10:20:30Z", "2026-03-01T10-20-30Z", "2026-03-01T10:20:30.5Z", "2026-03-01T10:20:30.123456789Z",
		"2026-02-31T10:20:30Z", "2026-03-01T24:00:00Z", "2026-03-01T10:20:30.Z", "2026-03-01T10:20:30.1234567890Z", "1999-03-01T10:20:30Z",
		"2026-03-01T10:20-30Z", "2026-13-01T10:20:30Z", "2026-03-01T10:20:30+01:00"} {
		want, werr := ParseTime(s)
		got, ok := parseUTC([]byte(s))
		if ok && (werr != nil || !got.Equal(want)) {
			t.Errorf("parseUTC(%q) = %v; ParseTime says %v, %v", s, got, want, werr)
		}
	}
	// The forms found in the field take the fast path.
	for _, s := range []string{"2026-03-01T10:20:30Z", "2026-03-01T10-20-30Z", "2026-02-07T03:03:36.69166035Z"} {
		if _, ok := parseUTC([]byte(s)); !ok {
			t.Errorf("parseUTC(%q) refused a common form", s)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2026-03-01T10:20:30Z", "2026-03-01T10:20:30Z"},
		{"2026-03-01T10-20-30Z", "2026-03-01T10:20:30Z"},
		{"2026-03-01T10:20:30.123456789Z", "2026-03-01T10:20:30.123456789Z"},
		{"2026-03-01T11:20:30+01:00", "2026-03-01T10:20:30Z"},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if err != nil || got.Format("2006-01-02T15:04:05.999999999Z07:00") != tt.want {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, s := range []string{"", "yesterday", "2026-03-01", "2026-03-01T10-20Z", "0001-01-01T0:00:00Z", "0001-01-01T00:00:00Z", "2026-03-01T1:20:30Z"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}

func TestOtherBatch(t *testing.T) {
	id := []byte("b-1")
	for _, tc := range []struct {
		line  string
		other bool
	}{
		{`{"schema_version":2,"batch_id":"b-2","package_id":"x"}`, true},
		{`{"schema_version":2,"batch_id":"b-1","package_id":"x"}`, false},
		{`{"schema_version":2,"batch_id":"b-10","package_id":"x"}`, true},
		{`{"schema_version":2,"batch_id":"b","package_id":"x"}`, true},
		{`{"schema_version":2,"batch_id":"b\u002d1","package_id":"x"}`, false},   // an escape in the ID
		{`{"schema_version":2,"batch_id":"b-2","batch_id":"b-1"}`, false},        // a second batch ID
		{`{"schema_version":2,"batch_id":"b-2","batch\u005fid":"b-1"}`, false},   // one spelled with an escape
		{`{"schema_version":2,"batch_id":"b-2","message":"say \"hi\"\n"}`, true}, // other escapes are harmless
		{`{"batch_id":"b-2","schema_version":2}`, false},                         // another shape: decoded
		{`{"schema_version":1,"batch_id":"b-2"}`, false},
		{`{"schema_version":2,"batch_id":"b-2`, false},
		{` {"schema_version":2,"batch_id":"b-2"}`, false},
		{`{"schema_version":2,"batch_id":"","package_id":"x"}`, false},                 // no batch: matched by time
		{"{\"schema_version\":2,\"batch_id\":\"b-\xff\",\"package_id\":\"x\"}", false}, // decodes to U+FFFD
		{`{"schema_version":2,"batch_id":"b-2","note":[`, false},                       // an object framed over lines
		{`{"schema_version":2,"batch_id":"b-2","m":"x"} {"schema_version":2}`, true},   // framed alone (a problem)
	} {
		if got := otherBatch([]byte(tc.line), id); got != tc.other {
			t.Errorf("otherBatch(%s) = %v, want %v", tc.line, got, tc.other)
		}
	}
}

// TestOnlyBatchReadsTheSame: a reader told OnlyBatch gives every record of
// that batch that a full reader gives, in the same order.
func TestOnlyBatchReadsTheSame(t *testing.T) {
	for _, dir := range []string{"testdata/copies", "testdata/uncommitted", "testdata/formats", "testdata/tsuku"} {
		fsys := os.DirFS(dir)
		all := map[string][]string{}
		var order []string
		err := New(fsys, dir, DefaultOptions).Failures(func(f *model.Failure) {
			if all[f.BatchID] == nil {
				order = append(order, f.BatchID)
			}
			all[f.BatchID] = append(all[f.BatchID], fmt.Sprint(f.Source.File, ":", f.Source.Line)+" "+f.PackageID+" "+f.Message)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range order {
			if id == "" {
				continue
			}
			var got []string
			err := New(fsys, dir, Options{MaxProblems: 1, OnlyBatch: id}).Failures(func(f *model.Failure) {
				if f.BatchID == id {
					got = append(got, fmt.Sprint(f.Source.File, ":", f.Source.Line)+" "+f.PackageID+" "+f.Message)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, all[id]) {
				t.Errorf("%s, batch %s: OnlyBatch read %q, want %q", dir, id, got, all[id])
			}
		}
	}
}

// TestPassOverReadsTheSame: a reader told to pass over the lines of
// every package but one gives every record of that package a full reader
// gives, in the same order.
func TestPassOverReadsTheSame(t *testing.T) {
	bare := fstest.MapFS{"failures/x.jsonl": {Data: []byte(
		`{"schema_version":2,"batch_id":"b1","ecosystem":"cargo","environment":"e","package_id":"ripgrep","category":"c","timestamp":"2026-03-01T10:00:00Z"}` + "\n" +
			`{"schema_version":2,"batch_id":"b2","ecosystem":"cargo","environment":"e","package_id":"cargo:jq","category":"c","timestamp":"2026-03-02T10:00:00Z"}` + "\n")},
		"metrics/batch-runs.jsonl": {Data: []byte(
			`{"schema_version":2,"batch_id":"b1","ecosystem":"cargo","platforms":{"e":{"tested":1,"passed":0,"failed":1,"skipped":0}},"timestamp":"2026-03-01T10:00:00Z"}` + "\n" +
				`{"schema_version":2,"batch_id":"b2","ecosystem":"cargo","platforms":{"e":{"tested":1,"passed":0,"failed":1,"skipped":0}},"timestamp":"2026-03-02T10:00:00Z"}` + "\n")}}
	for _, dir := range []string{"testdata/copies", "testdata/uncommitted", "testdata/formats", "testdata/tsuku", "bare"} {
		var fsys fs.FS = os.DirFS(dir)
		if dir == "bare" {
			fsys = bare
		}
		all := map[string][]string{}
		var order []string
		err := New(fsys, dir, DefaultOptions).Failures(func(f *model.Failure) {
			if all[f.PackageID] == nil {
				order = append(order, f.PackageID)
			}
			all[f.PackageID] = append(all[f.PackageID], fmt.Sprint(f.Source.File, ":", f.Source.Line)+" "+f.BatchID+" "+f.Message)
		})
		if err != nil {
			t.Fatal(err)
		}
		if dir == "bare" && !slices.Equal(order, []string{"cargo:ripgrep", "cargo:jq"}) {
			t.Fatalf("bare: read %v", order)
		}
		passed := 0
		for _, pkg := range order {
			var got []string
			o := Options{MaxProblems: 1, PassOver: func(_, p []byte) bool {
				if string(p) != pkg {
					passed++
					return true
				}
				return false
			}}
			err := New(fsys, dir, o).Failures(func(f *model.Failure) {
				if f.PackageID == pkg {
					got = append(got, fmt.Sprint(f.Source.File, ":", f.Source.Line)+" "+f.BatchID+" "+f.Message)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, all[pkg]) {
				t.Errorf("%s, package %s: PassOver read %q, want %q", dir, pkg, got, all[pkg])
			}
		}
		if passed == 0 && dir == "testdata/copies" {
			t.Errorf("%s: no line was passed over", dir)
		}
	}
}

// TestLinePackageID: the lines whose package is certain, and those that
// must be decoded.
func TestLinePackageID(t *testing.T) {
	for line, want := range map[string]string{
		`{"schema_version":2,"batch_id":"b","environment":"e","package_id":"npm:a","category":"c"}`: "npm:a",
		`{"schema_version":2,"batch_id":"b","package_id":"npm:a\"b","category":"c"}`:                "",
		`{"schema_version":2,"batch_id":"b","package_id":"npm:a","x":{"package_id":"npm:b"}}`:       "",
		`{"schema_version":2,"batch_id":"b","package_id":"npm:\u0061"}`:                             "",
		`{"schema_version":2,"batch_id":"b","package_id":""}`:                                       "",
		`{"schema_version":1,"batch_id":"b","package_id":"npm:a"}`:                                  "",
		`{"schema_version":2,"batch_id":"b","package_id":"npm:a"`:                                   "",
		`{"schema_version":2,"batch_id":"b","package_id":"ripgrep","ecosystem":"cargo"}`:            "",
		`{"schema_version":2,"batch_id":"b","package_id":":ripgrep"}`:                               "",
	} {
		_, p, ok := linePackageID([]byte(line))
		if string(p) != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", line, p, ok, want)
		}
	}
}

// TestOnlyBatchOddLines: lines that OnlyBatch must decode, not pass over: a
// record without a batch, an object framed over several lines that hides
// a record of another batch, an ID that is not valid UTF-8.
func TestOnlyBatchOddLines(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, sub := range []string{"metrics", "failures"} {
		ents, err := os.ReadDir("testdata/copies/" + sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			data, err := os.ReadFile("testdata/copies/" + sub + "/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			fsys[sub+"/"+e.Name()] = &fstest.MapFile{Data: data}
		}
	}
	rec := func(batch, pkg string) string {
		return `{"schema_version":2,"batch_id":"` + batch + `","ecosystem":"go","environment":"darwin-x86_64","package_id":"` + pkg + `","category":"install_failed","exit_code":6,"attempts":1,"message":"m","timestamp":"2026-03-02T08:11:00Z"`
	}
	odd := rec("", "go:no-batch") + "}\n" +
		rec("2026-03-02-npm-001", "go:wrapper") + `,"note":[` + "\n " +
		rec("2026-03-02-go-001", "go:wrapped") + "}\n]}\n" +
		rec("2026-03-02-go-\xff", "go:bad-utf8") + "}\n"
	fsys["failures/z-odd.jsonl"] = &fstest.MapFile{Data: []byte(odd)}
	read := func(o Options) map[string][]string {
		got := map[string][]string{}
		if err := New(fsys, "d", o).Failures(func(f *model.Failure) {
			got[f.BatchID] = append(got[f.BatchID], fmt.Sprint(f.Source.File, ":", f.Source.Line, " ", f.PackageID))
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	all := read(DefaultOptions)
	if len(all[""]) == 0 {
		t.Fatal("the record without a batch was not read")
	}
	for _, id := range []string{"2026-03-02-go-001", "2026-03-02-npm-001", "2026-03-02-go-\ufffd", "2026-03-02-go-001-none"} {
		got := read(Options{MaxProblems: 1, OnlyBatch: id})
		for _, b := range []string{id, ""} {
			if !reflect.DeepEqual(got[b], all[b]) {
				t.Errorf("OnlyBatch %q: records of %q: %q, want %q", id, b, got[b], all[b])
			}
		}
	}
}
