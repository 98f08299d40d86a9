package reader

import (
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/model"
)

// plainRun is a batch-run record with its pointers followed, to compare.
type plainRun struct {
	Run       model.BatchRun
	Minutes   int64
	Duration  float64
	Platforms map[string]plainCounts
}

type plainCounts struct {
	C        model.Counts
	Duration float64
	Infra    int64
}

func flatten(b *model.BatchRun) plainRun {
	p := plainRun{Run: *b, Platforms: map[string]plainCounts{}}
	if b.MacOSMinutesUsed != nil {
		p.Minutes = *b.MacOSMinutesUsed + 1
	}
	if b.DurationSeconds != nil {
		p.Duration = *b.DurationSeconds + 1
	}
	for id, c := range b.Platforms {
		pc := plainCounts{C: c}
		if c.DurationSeconds != nil {
			pc.Duration = *c.DurationSeconds + 1
		}
		if c.Infrastructure != nil {
			pc.Infra = *c.Infrastructure + 1
		}
		pc.C.DurationSeconds, pc.C.Infrastructure = nil, nil
		p.Platforms[id] = pc
	}
	p.Run.Platforms, p.Run.MacOSMinutesUsed, p.Run.DurationSeconds = nil, nil, nil
	p.Run.Source.Raw = append([]byte(nil), b.Source.Raw...)
	return p
}

// readRuns reads a metrics file with the fast path on or off.
func readRuns(t *testing.T, data []byte, fast bool, opts Options) ([]plainRun, []Problem, []FileStat, int) {
	t.Helper()
	defer func(was bool) { fastMetrics = was }(fastMetrics)
	fastMetrics = fast
	var got []plainRun
	r := New(fstest.MapFS{"metrics/batch-runs.jsonl": {Data: data}}, "d", opts)
	if err := r.Metrics(func(b *model.BatchRun) { got = append(got, flatten(b)) }); err != nil {
		t.Fatal(err)
	}
	ps, _ := r.Problems()
	c, err := r.Commits()
	if err != nil {
		t.Fatal(err)
	}
	return got, ps, r.Files(), c.Len()
}

func checkFastRunsSame(t *testing.T, data []byte, opts Options) {
	t.Helper()
	slow, slowProbs, slowFiles, slowCommits := readRuns(t, data, false, opts)
	fast, fastProbs, fastFiles, fastCommits := readRuns(t, data, true, opts)
	if !reflect.DeepEqual(slow, fast) {
		t.Fatalf("records differ with the fast path\n general: %+v\n fast:    %+v", slow, fast)
	}
	if !reflect.DeepEqual(slowProbs, fastProbs) || !reflect.DeepEqual(slowFiles, fastFiles) || slowCommits != fastCommits {
		t.Fatalf("problems, files or commits differ with the fast path\n general: %v %v %d\n fast:    %v %v %d", slowProbs, slowFiles, slowCommits, fastProbs, fastFiles, fastCommits)
	}
}

var fastRunCases = []string{
	// What record and simulate write.
	`{"schema_version":2,"batch_id":"2026-03-02-crates.io-001","ecosystem":"crates.io","total":10,"generated":10,"merged":2,"excluded":0,"constrained":0,"platforms":{"darwin-arm64":{"tested":10,"passed":10,"failed":0,"skipped":0,"duration_seconds":157.5,"infrastructure":0},"linux-alpine-musl-arm64":{"tested":8,"passed":6,"failed":2,"skipped":2,"duration_seconds":630,"infrastructure":1,"gated_by":["linux-debian-glibc-x86_64"]}},"macos_minutes_used":6,"timestamp":"2026-03-02T08:52:00Z","duration_seconds":1200.25}`,
	`{"schema_version":2,"batch_id":"b1","ecosystem":"npm","total":3,"platforms":{"linux-glibc-x86_64":{"tested":3,"passed":1,"failed":2,"skipped":0}},"timestamp":"2026-03-01T10:00:00Z","attempt_id":"fedcba9876543210fedcba9876543210","digest":"abc"}`,
	`{"schema_version":2,"batch_id":"b2","platforms":{},"timestamp":"2026-03-01T10:00:00.5Z"}`,
	// Shapes the fast path leaves to the general decoder.
	`{"schema_version":2,"batch_id":"b3","platforms":{"e":{"tested":3,"passed":1,"failed":1}},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b4","platforms":{"e":{"tested":1,"passed":1,"failed":0,"infrastructure":2}},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b5","platforms":{"e":{"tested":1,"passed":1,"failed":0,"gated_by":["e"]}},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b6","platforms":{"e":{"tested":1,"passed":1,"failed":0},"e":{"tested":2,"passed":2,"failed":0}},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b7","platforms":{"e":{"tested":1,"passed":1,"failed":0,"duration_seconds":1e3}},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b8","platforms":{"e":{"tested":1,"passed":1,"failed":0,"duration_seconds":null}},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b9","platforms":{"e":{}},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b10","ecosystems":{"npm":1},"platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b1","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":1,"batch_id":"b11","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b12","platforms":{},"timestamp":"2026-03-01 10:00:00"}`,
	`{"schema_version":2,"batch_id":"b13","platforms":{},"macos_minutes_used":-1,"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b14","platforms":{},"duration_seconds":00.5,"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b15","platforms":{},"duration_seconds":2000000000,"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2, "batch_id":"b16","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`,
	`{"schema_version":2,"batch_id":"b17","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}}`,
}

// TestFastBatchRunSame reads each case, and all of them as one file, with
// and without the fast path.
func TestFastBatchRunSame(t *testing.T) {
	all := ""
	for _, c := range fastRunCases {
		all += c + "\n"
		for _, o := range fastOptions {
			checkFastRunsSame(t, []byte(c+"\n"), o)
		}
	}
	for _, o := range fastOptions {
		checkFastRunsSame(t, []byte(all), o)
	}
	for _, c := range fastRunCases[:3] {
		var b model.BatchRun
		if !fastBatchRun([]byte(c), newIntern(), "f", 1, &b, map[string]model.Counts{}, &batchSlabs{}) {
			t.Errorf("the fast path left %s", c)
		}
	}
}

func FuzzFastBatchRun(f *testing.F) {
	for _, c := range fastRunCases {
		f.Add([]byte(c+"\n"), uint8(0))
	}
	addSeedsWithOption(f, "testdata/*/metrics/*.jsonl")
	f.Fuzz(func(t *testing.T, data []byte, opt uint8) {
		checkFastRunsSame(t, data, fastOptions[int(opt)%len(fastOptions)])
	})
}

// TestFastPathProblemOrder reads a line that is no object, then a record
// and its copy, in each kind of file: the problems come in line order, the
// same with the fast paths as without, whatever MaxProblems keeps.
func TestFastPathProblemOrder(t *testing.T) {
	run := `{"schema_version":2,"batch_id":"b1","attempt_id":"a1","platforms":{},"timestamp":"2026-03-01T10:00:00Z"}`
	fail := `{"schema_version":2,"batch_id":"b1","attempt_id":"a1","environment":"e","package_id":"cargo:jq","timestamp":"2026-03-02T08:52:00Z"}`
	out := `{"schema_version":2,"batch_id":"b1","attempt_id":"a1","timestamp":"2026-03-01T10:00:00Z","platforms":["e"],"recipes":{}}`
	bad := func(line string) []byte { return []byte("not json\n" + line + "\n" + line + "\n") }
	read := func(fast bool, max int) []Problem {
		defer func(a, b, c bool) { fastMetrics, fastFailures, fastOutcomes = a, b, c }(fastMetrics, fastFailures, fastOutcomes)
		fastMetrics, fastFailures, fastOutcomes = fast, fast, fast
		fsys := fstest.MapFS{
			"metrics/batch-runs.jsonl": {Data: bad(run)},
			"failures/x.jsonl":         {Data: bad(fail)},
			"outcomes/outcomes.jsonl":  {Data: bad(out)},
		}
		r := New(fsys, "d", Options{MaxProblems: max})
		if err := r.Metrics(func(*model.BatchRun) {}); err != nil {
			t.Fatal(err)
		}
		if err := r.Failures(func(*model.Failure) {}); err != nil {
			t.Fatal(err)
		}
		if err := r.Outcomes(func(*model.Outcomes) {}); err != nil {
			t.Fatal(err)
		}
		ps, _ := r.Problems()
		return ps
	}
	for _, max := range []int{1, 2, 3, 100} {
		general, fast := read(false, max), read(true, max)
		if !reflect.DeepEqual(general, fast) {
			t.Errorf("MaxProblems %d:\n general %v\n fast    %v", max, general, fast)
		}
		if max == 100 && len(general) != 6 {
			t.Errorf("%d problems, want 6 (a line that is no object and a repeated record per file): %v", len(general), general)
		}
	}
}
