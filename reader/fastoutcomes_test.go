package reader

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/model"
)

// readOutcomesWith reads an outcomes file (over outcomeBatch's commit) with
// the fast path on or off.
func readOutcomesWith(t *testing.T, data []byte, fast bool, opts Options) ([]model.Outcomes, []Problem, []Problem, []FileStat) {
	t.Helper()
	defer func(was bool) { fastOutcomes = was }(fastOutcomes)
	fastOutcomes = fast
	var got []model.Outcomes
	keep := func(o *model.Outcomes) {
		c := *o
		c.Platforms = append([]string(nil), o.Platforms...)
		c.Categories = append([]string(nil), o.Categories...)
		c.Recipes = append([]model.RecipeOutcome(nil), o.Recipes...)
		c.Source.Raw = append([]byte(nil), o.Source.Raw...)
		got = append(got, c)
	}
	opts.OnUncommittedOutcomes = keep
	r := New(fstest.MapFS{
		"metrics/batch-runs.jsonl": {Data: []byte(outcomeBatch)},
		"outcomes/outcomes.jsonl":  {Data: data},
	}, "d", opts)
	if err := r.Outcomes(keep); err != nil {
		t.Fatal(err)
	}
	ps, _ := r.Problems()
	us, _ := r.Uncommitted()
	return got, ps, us, r.Files()
}

func checkFastOutcomesSame(t *testing.T, data []byte, opts Options) {
	t.Helper()
	slow, sp, su, sf := readOutcomesWith(t, data, false, opts)
	fast, fp, fu, ff := readOutcomesWith(t, data, true, opts)
	if !reflect.DeepEqual(slow, fast) {
		t.Fatalf("records differ with the fast path\n general: %+v\n fast:    %+v", slow, fast)
	}
	if !reflect.DeepEqual(sp, fp) || !reflect.DeepEqual(su, fu) || !reflect.DeepEqual(sf, ff) {
		t.Fatalf("problems, uncommitted or files differ with the fast path\n general: %v %v %v\n fast:    %v %v %v", sp, su, sf, fp, fu, ff)
	}
}

var fastOutcomeCases = []string{
	goodOutcome,
	`{"schema_version":2,"batch_id":"b1","attempt_id":"t1","timestamp":"2026-03-02T10:00:00Z","platforms":["darwin-arm64","linux-x86_64"],"recipes":{"cargo:a":"PP","cargo:c":"pS"}}`,
	`{"schema_version":2,"batch_id":"b2","timestamp":"2026-03-02T10:00:00.25Z","platforms":["darwin-arm64"],"categories":[],"recipes":{}}`,
	// Shapes or records the fast path leaves to the general decoder.
	strings.Replace(goodOutcome, `"cargo:b":"0S"`, `"cargo:b":"9S"`, 1),
	strings.Replace(goodOutcome, `"cargo:b":"0S"`, `"cargo:b":"0"`, 1),
	strings.Replace(goodOutcome, `"cargo:a":"PP","cargo:b"`, `"cargo:b":"0S","cargo:a":"PP","cargo:c"`, 1),
	strings.Replace(goodOutcome, `"recipes":{"cargo:a":"PP",`, `"recipes":{"cargo:a":"PP","cargo:a":"PP",`, 1),
	strings.Replace(goodOutcome, `"versions":{"cargo:a":"1.0"}`, `"versions":{"cargo:z":"1.0"}`, 1),
	strings.Replace(goodOutcome, `"versions":{"cargo:a":"1.0"}`, `"versions":{"cargo:a":""}`, 1),
	strings.Replace(goodOutcome, `"categories":["install_failed"]`, `"categories":["install_failed","install_failed"]`, 1),
	strings.Replace(goodOutcome, `"linux-x86_64"]`, `"darwin-arm64"]`, 1),
	strings.Replace(goodOutcome, `"timestamp":"2026-03-02T10:00:00Z"`, `"timestamp":"2026-03-02T10:00:00+01:00"`, 1),
	strings.Replace(goodOutcome, `"schema_version":2`, `"schema_version":3`, 1),
	strings.Replace(goodOutcome, `"schema_version":2`, `"schema_version":1`, 1),
	strings.Replace(goodOutcome, `"attempt_id":"t1"`, `"attempt_id":"t2"`, 1),
	strings.Replace(goodOutcome, `"attempt_id":"t1",`, ``, 1),
	strings.Replace(goodOutcome, `"batch_id":"b1"`, `"batch_id":"b\u0031"`, 1),
	strings.Replace(goodOutcome, `{"schema_version":2,`, `{"schema_version":2, `, 1),
	strings.Replace(goodOutcome, `"versions":{"cargo:a":"1.0"}`, `"versions":{"cargo:a":"1.0"},"extra":1`, 1),
	goodOutcome + " ",
}

// TestFastOutcomesSame reads each case, and all of them as one file, with
// and without the fast path.
func TestFastOutcomesSame(t *testing.T) {
	all := ""
	for _, c := range fastOutcomeCases {
		all += c + "\n"
		for _, o := range fastOptions {
			checkFastOutcomesSame(t, []byte(c+"\n"), o)
		}
	}
	for _, o := range fastOptions {
		checkFastOutcomesSame(t, []byte(all), o)
	}
	d := &outcomeDecoder{}
	for _, c := range fastOutcomeCases[:3] {
		if _, ok := d.fastOutcomes([]byte(c), newIntern(), "f", 1, false); !ok {
			t.Errorf("the fast path left %s", c)
		}
	}
}

func FuzzFastOutcomes(f *testing.F) {
	for i, c := range fastOutcomeCases {
		f.Add([]byte(c+"\n"), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, opt uint8) {
		checkFastOutcomesSame(t, data, fastOptions[int(opt)%len(fastOptions)])
	})
}
