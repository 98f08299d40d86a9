package reader

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/internal/safetext"
	"github.com/batchsli/batchsli/model"
)

const outcomeBatch = `{"schema_version":2,"batch_id":"b1","attempt_id":"t1","ecosystem":"cargo","total":2,"platforms":{"darwin-arm64":{"tested":2,"passed":1,"failed":1,"skipped":0},"linux-x86_64":{"tested":1,"passed":1,"failed":0,"skipped":1}},"timestamp":"2026-03-02T10:00:00Z"}` + "\n"

const goodOutcome = `{"schema_version":2,"batch_id":"b1","attempt_id":"t1","timestamp":"2026-03-02T10:00:00Z","platforms":["darwin-arm64","linux-x86_64"],"categories":["install_failed"],"recipes":{"cargo:a":"PP","cargo:b":"0S"},"versions":{"cargo:a":"1.0"}}`

func readOutcomeLine(t *testing.T, line string) ([]*model.Outcomes, *Reader) {
	t.Helper()
	fsys := fstest.MapFS{
		"metrics/batch-runs.jsonl": {Data: []byte(outcomeBatch)},
		"outcomes/outcomes.jsonl":  {Data: []byte(line + "\n")},
	}
	r := New(fsys, "d", DefaultOptions)
	var got []*model.Outcomes
	if err := r.Outcomes(func(o *model.Outcomes) { c := *o; got = append(got, &c) }); err != nil {
		t.Fatal(err)
	}
	return got, r
}

func TestOutcomesReadBack(t *testing.T) {
	got, r := readOutcomeLine(t, goodOutcome)
	if ps, _ := r.Problems(); len(got) != 1 || len(ps) > 0 {
		t.Fatalf("%d records, problems %v", len(got), ps)
	}
	o := got[0]
	if len(o.Recipes) != 2 || o.Recipes[0].PackageID != "cargo:a" || o.Recipes[0].Version != "1.0" || o.Recipes[1].Version != "" {
		t.Fatalf("recipes %+v", o.Recipes)
	}
	if oc := o.At(1, 0); oc.Kind != model.Failed || oc.Category != "install_failed" {
		t.Errorf("cargo:b on darwin-arm64: %+v", oc)
	}
	if why := o.Disagrees(&model.BatchRun{Platforms: map[string]model.Counts{
		"darwin-arm64": {Tested: 2, Passed: 1, Failed: 1, SkippedKnown: true},
		"linux-x86_64": {Tested: 1, Passed: 1, Skipped: 1, SkippedKnown: true}}}); why != "" {
		t.Errorf("disagrees with its own counts: %s", why)
	}
}

// TestOutcomesRefused: every rule the reader holds outcome records to.
func TestOutcomesRefused(t *testing.T) {
	for _, tt := range []struct{ name, line, want string }{
		{"newer schema", strings.Replace(goodOutcome, `"schema_version":2`, `"schema_version":3`, 1), "newer"},
		{"older schema", strings.Replace(goodOutcome, `"schema_version":2`, `"schema_version":1`, 1), "start at schema_version"},
		{"no batch", strings.Replace(goodOutcome, `"batch_id":"b1",`, ``, 1), "no batch_id"},
		{"no time", strings.Replace(goodOutcome, `"timestamp":"2026-03-02T10:00:00Z",`, ``, 1), "no timestamp"},
		{"no platforms", strings.Replace(goodOutcome, `"platforms":["darwin-arm64","linux-x86_64"],`, `"platforms":[],`, 1), "no platforms"},
		{"platform twice", strings.Replace(goodOutcome, `"linux-x86_64"]`, `"darwin-arm64"]`, 1), "listed twice"},
		{"bad platform", strings.Replace(goodOutcome, `"linux-x86_64"]`, `"Linux X"]`, 1), "not a platform ID"},
		{"short codes", strings.Replace(goodOutcome, `"cargo:a":"PP"`, `"cargo:a":"P"`, 1), "1 outcomes for 2 platforms"},
		{"bad code", strings.Replace(goodOutcome, `"cargo:a":"PP"`, `"cargo:a":"P-"`, 1), "not P, p, S"},
		{"code past categories", strings.Replace(goodOutcome, `"cargo:b":"0S"`, `"cargo:b":"1S"`, 1), "not P, p, S"},
		{"recipe twice", strings.Replace(goodOutcome, `"cargo:b":"0S"`, `"cargo:a":"0S"`, 1), "twice"},
		{"control character", strings.Replace(goodOutcome, `"cargo:b"`, `"cargo:\u001bb"`, 1), "control characters"},
		{"version of nothing", strings.Replace(goodOutcome, `{"cargo:a":"1.0"}`, `{"cargo:z":"1.0"}`, 1), "not among the recipes"},
		{"empty version", strings.Replace(goodOutcome, `{"cargo:a":"1.0"}`, `{"cargo:a":""}`, 1), "1 to 128 bytes"},
		{"no recipes", strings.Replace(goodOutcome, `"recipes":{"cargo:a":"PP","cargo:b":"0S"},`, ``, 1), "no recipes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, r := readOutcomeLine(t, tt.line)
			ps, _ := r.Problems()
			if len(got) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, tt.want) || ps[0].Line != 1 || ps[0].File != "d/outcomes/outcomes.jsonl" {
				t.Errorf("%d records, problems %v; want one problem at d/outcomes/outcomes.jsonl:1 saying %q", len(got), ps, tt.want)
			}
		})
	}
	// Not committed: another attempt's, or a batch with no record.
	for _, line := range []string{strings.Replace(goodOutcome, `"attempt_id":"t1"`, `"attempt_id":"t2"`, 1), strings.Replace(goodOutcome, `"batch_id":"b1"`, `"batch_id":"b9"`, 1)} {
		got, r := readOutcomeLine(t, line)
		if us, _ := r.Uncommitted(); len(got) != 0 || len(us) != 1 {
			t.Errorf("uncommitted outcome record: %d read, %d uncommitted", len(got), len(us))
		}
	}
	// A copy is counted once.
	got, r := readOutcomeLine(t, goodOutcome+"\n"+goodOutcome)
	if ps, _ := r.Problems(); len(got) != 1 || len(ps) != 1 || !strings.Contains(ps[0].Message, "repeated") {
		t.Errorf("a copied outcome record: %d read, problems %v", len(got), ps)
	}
}

// FuzzOutcomesReader: whatever the bytes, the reader never fails, every
// problem names a line of the input, and every record it passes on keeps
// the rules: one code per platform, each a pass, skip or listed category,
// printable package IDs and versions of recipes it holds.
func FuzzOutcomesReader(f *testing.F) {
	f.Add([]byte(goodOutcome))
	f.Add([]byte(goodOutcome + "\n" + goodOutcome))
	f.Add([]byte(strings.Replace(goodOutcome, `"cargo:b":"0S"`, `"cargo:b":"9S"`, 1)))
	f.Add([]byte(`{"schema_version":2,"batch_id":"b1","attempt_id":"t1","timestamp":"2026-03-02T10:00:00Z","platforms":["darwin-arm64"],"recipes":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"metrics/batch-runs.jsonl": {Data: []byte(outcomeBatch)},
			"outcomes/outcomes.jsonl":  {Data: data},
		}
		for _, reuse := range []bool{false, true} {
			opts := DefaultOptions
			opts.Reuse = reuse
			r := New(fsys, "d", opts)
			err := r.Outcomes(func(o *model.Outcomes) {
				if o.BatchID != "b1" || len(o.Platforms) == 0 {
					t.Fatalf("record accepted: %+v", o)
				}
				for i, rec := range o.Recipes {
					if len(rec.Codes) != len(o.Platforms) || !safetext.Safe(rec.PackageID) || rec.PackageID == "" {
						t.Fatalf("recipe accepted: %+v", rec)
					}
					if rec.Version != "" && !safetext.Safe(rec.Version) {
						t.Fatalf("version accepted: %q", rec.Version)
					}
					for j := range o.Platforms {
						if o.At(i, j).Kind == model.Absent {
							t.Fatalf("code %q accepted", rec.Codes[j])
						}
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, r, data)
		}
	})
}

// TestOutcomesListedTwice refuses a platform or category listed twice, in
// short lists and in long ones (searched differently), naming the first
// one repeated; a long list without repeats is read.
func TestOutcomesListedTwice(t *testing.T) {
	many := func(n int, repeat bool) string {
		var ps []string
		for i := range n {
			ps = append(ps, fmt.Sprintf(`"p%d"`, i))
		}
		if repeat {
			ps = append(ps, `"p7"`, `"p3"`)
		}
		return "[" + strings.Join(ps, ",") + "]"
	}
	for _, tt := range []struct{ name, line, want string }{
		{"category twice", strings.Replace(goodOutcome, `"categories":["install_failed"]`, `"categories":["install_failed","timeout","install_failed"]`, 1), "category install_failed is listed twice"},
		{"platform twice of 3", strings.Replace(goodOutcome, `"platforms":["darwin-arm64","linux-x86_64"]`, `"platforms":["darwin-arm64","linux-x86_64","darwin-arm64"]`, 1), "platform darwin-arm64 is listed twice"},
		{"platform twice of 42", strings.Replace(goodOutcome, `"platforms":["darwin-arm64","linux-x86_64"]`, `"platforms":`+many(40, true), 1), "platform p7 is listed twice"},
		{"40 platforms", strings.Replace(goodOutcome, `"platforms":["darwin-arm64","linux-x86_64"]`, `"platforms":`+many(40, false), 1), "2 outcomes for 40 platforms"},
		{"256 platforms", strings.Replace(goodOutcome, `"platforms":["darwin-arm64","linux-x86_64"]`, `"platforms":`+many(256, false), 1), "2 outcomes for 256 platforms"},
		{"257 platforms", strings.Replace(goodOutcome, `"platforms":["darwin-arm64","linux-x86_64"]`, `"platforms":`+many(257, false), 1), "has 257 platforms (at most 256)"},
	} {
		got, r := readOutcomeLine(t, tt.line)
		ps, _ := r.Problems()
		if len(got) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, tt.want) {
			t.Errorf("%s: %d records, problems %v; want one saying %q", tt.name, len(got), ps, tt.want)
		}
	}
}
