package analyze

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/simulate"
)

// TestBuildReportsTogether: reports computed in one reading of the data
// (buildReports) are each the report computed alone, whatever their
// windows and levels, with one that reads the outcome records at each
// level; two such reports at one level are refused.
func TestBuildReportsTogether(t *testing.T) {
	dir := t.TempDir()
	so := simulate.DefaultOptions
	so.Batches, so.Seed = 60, 5
	so.Outages = 0.02 // incidents
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	// A problem in a failure file and one in the outcome file, which the
	// reports that read them count.
	for _, file := range []string{"failures/npm.jsonl", "outcomes/outcomes.jsonl"} {
		f, err := os.OpenFile(filepath.Join(dir, file), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("not json\n")
		f.Close()
	}
	fsys := os.DirFS(dir)
	var times []time.Time
	base := DefaultReportOptions(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	base.skipOutcomes = true
	all, _, err := buildReport(fsys, dir, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Problems) != 1 {
		t.Fatalf("%d problems, want the one written", len(all.Problems))
	}
	if all.Window.First == nil || all.Batches < 50 {
		t.Fatalf("the simulated history has %d batches", all.Batches)
	}
	first, last := *all.Window.First, *all.Window.Last
	span := last.Sub(first)
	for _, f := range []float64{0.3, 0.6, 1} {
		times = append(times, first.Add(time.Duration(f*float64(span))))
	}
	gaps, incidents, flaky := 0, 0, 0
	for _, by := range []model.Level{model.LevelEnv, model.LevelFamily} {
		var opts []ReportOptions
		for i, u := range times {
			o := base
			o.By = by
			o.Until = u
			opts = append(opts, o)
			o.Until = u.Add(-time.Nanosecond)
			opts = append(opts, o)
			o = base
			o.By = by
			o.Last = 10 * (i + 1)
			opts = append(opts, o)
			o.Last, o.Since = 0, u.Add(-span/4)
			o.Now = u.Add(time.Hour)
			opts = append(opts, o)
		}
		o := base
		o.By = by
		o.skipFailures = true
		opts = append(opts, o)
		for _, reading := range []model.Level{model.LevelEnv, model.LevelFamily} {
			o := base
			o.By = reading
			o.skipOutcomes = false
			o.skipFailures = reading == model.LevelFamily
			opts = append(opts, o)
		}
		// Filters: levels of their own, with and without the outcome records.
		o = base
		o.By = by
		o.Ecosystems = []string{"npm", "crates.io"}
		opts = append(opts, o)
		o.Until = times[1]
		opts = append(opts, o)
		o = base
		o.By = by
		o.Platforms = []string{"linux-arm64"}
		o.skipOutcomes = false
		opts = append(opts, o)
		together, _, err := buildReports(fsys, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range opts {
			alone := sameAsAlone(t, fsys, dir, o, together[i], fmt.Sprintf("by %v, report %d, read together", by, i))
			if !o.skipOutcomes {
				detectorOnlyMatches(t, fsys, dir, o, alone)
				flaky += len(alone.Flaky)
			}
			if !o.skipOutcomes && (len(alone.Transitions) == 0 || alone.outcomeProblems != 1) {
				t.Fatalf("by %v, report %d: %d transitions, %d outcome problems: the outcome records were not read", by, i, len(alone.Transitions), alone.outcomeProblems)
			}
			if o.skipOutcomes {
				kinds := insightsOnlyMatches(t, fsys, dir, o, alone)
				gaps, incidents = gaps+kinds[KindGap], incidents+kinds[KindIncident]
			}
			if alone.failuresRead != together[i].failuresRead || alone.outcomeProblems != together[i].outcomeProblems {
				t.Fatalf("by %v, report %d: failures read %v, outcome problems %d; alone %v, %d", by, i,
					together[i].failuresRead, together[i].outcomeProblems, alone.failuresRead, alone.outcomeProblems)
			}
		}
	}
	if flaky == 0 {
		t.Fatal("no flaky recipe: the detector-only reports were not compared where flaky results are left out")
	}
	if gaps == 0 || incidents == 0 {
		t.Fatalf("%d capability gaps and %d incidents in the reports: the insights-only ones were not compared", gaps, incidents)
	}
	reading := base
	reading.skipOutcomes = false
	again := reading
	again.Last = 5
	if _, _, err := buildReports(fsys, dir, []ReportOptions{base, reading, again}); err == nil {
		t.Fatal("two reports reading the outcome records at one level were read together")
	}
}

// sameAsAlone fails the test unless got is the report computed alone for
// o (their JSON forms), and returns that one.
func sameAsAlone(t *testing.T, fsys fs.FS, dir string, o ReportOptions, got *Report, what string) *Report {
	t.Helper()
	alone, _, err := buildReport(fsys, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(alone)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("%s (%s): it differs from the report alone:\n%s\n%s", what, describe(o), b, a)
	}
	return alone
}

func describe(o ReportOptions) string {
	b, _ := json.Marshal(struct {
		Last                  int
		Since, Until          time.Time
		SkipFailures          bool
		Ecosystems, Platforms []string
	}{o.Last, o.Since, o.Until, o.skipFailures, o.Ecosystems, o.Platforms})
	return string(b)
}

// insightsOnlyMatches checks that the report with insightsOnly has the
// capability gaps, incidents and problems of the whole one, and counts them.
func insightsOnlyMatches(t *testing.T, fsys fs.FS, dir string, o ReportOptions, whole *Report) map[string]int {
	t.Helper()
	o.insightsOnly = true
	lite, _, err := buildReport(fsys, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	var want []Insight
	for _, in := range whole.Insights {
		if perBatch(in.Kind) {
			want = append(want, in)
			kinds[in.Kind]++
		}
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(lite.Insights)
	if len(want) == 0 && len(lite.Insights) == 0 {
		b = a
	}
	if string(a) != string(b) {
		t.Fatalf("%s: the insights-only report's gaps and incidents differ:\n%s\n%s", describe(o), b, a)
	}
	a, _ = json.Marshal([]any{whole.Problems, whole.MoreProblems})
	b, _ = json.Marshal([]any{lite.Problems, lite.MoreProblems})
	if string(a) != string(b) {
		t.Fatalf("%s: the insights-only report's problems differ:\n%s\n%s", describe(o), b, a)
	}
	return kinds
}

// detectorOnlyMatches checks that the report with detectorOnly has the
// detectors, transitions, outcome flag and problems of the whole one.
func detectorOnlyMatches(t *testing.T, fsys fs.FS, dir string, o ReportOptions, whole *Report) {
	t.Helper()
	o.detectorOnly = true
	lite, _, err := buildReport(fsys, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Detectors   map[string]*DetectorState
		Transitions []Transition
		Outcomes    bool
		Problems    any
		More        int
	}
	of := func(r *Report) string {
		v := view{Detectors: map[string]*DetectorState{}, Transitions: r.Transitions, Outcomes: r.batchHasOutcomes, Problems: r.Problems, More: r.MoreProblems}
		for _, p := range r.Platforms {
			v.Detectors[p.Platform] = p.Detector
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	if a, b := of(whole), of(lite); a != b {
		t.Fatalf("%s: the detector-only report differs:\n%s\n%s", describe(o), b, a)
	}
	detectors := 0
	for _, p := range whole.Platforms {
		if p.Detector != nil {
			detectors++
		}
	}
	if detectors == 0 {
		t.Fatalf("%s: no detector to compare", describe(o))
	}
}

// TestFailureExtensions: the job summary's report after a batch, its
// failure aggregate extended from the report's before it (failSpec.base),
// is the report computed alone, whatever the batch, level and filters, and
// with failure records without a batch ID (counted by time) at the batch's
// time, just before it and just after it.
func TestFailureExtensions(t *testing.T) {
	dir := t.TempDir()
	so := simulate.DefaultOptions
	so.Batches, so.Seed = 50, 9
	so.Outages = 0.1
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	// Every third batch record without its infrastructure counts: theirs
	// come from the failure records.
	mp := filepath.Join(dir, "metrics/batch-runs.jsonl")
	data, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	for i := range lines {
		if i%3 == 1 {
			lines[i] = regexp.MustCompile(`,"infrastructure":\d+`).ReplaceAllString(lines[i], "")
		}
	}
	if err := os.WriteFile(mp, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)
	base := DefaultReportOptions(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	base.insightsOnly = true
	all, _, err := buildReport(fsys, dir, base)
	if err != nil {
		t.Fatal(err)
	}
	// The batches' times, from the history's batch records.
	var times []time.Time
	rd := reader.New(fsys, dir, reader.Options{SkipMessages: true})
	if err := rd.Metrics(func(b *model.BatchRun) { times = append(times, b.Timestamp) }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(times, time.Time.Compare)
	picked := []time.Time{times[0], times[1], times[len(times)/2], times[len(times)-2], times[len(times)-1]}
	// Failure records without a batch ID at each picked time, a
	// nanosecond before and a nanosecond after: the same recipe and
	// platform fail with another category there, so each changes a gap.
	f, err := os.OpenFile(filepath.Join(dir, "failures/npm.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range picked {
		for _, at := range []time.Time{ts.Add(-time.Nanosecond), ts, ts.Add(time.Nanosecond)} {
			for _, pkg := range []string{"npm:hand-a", "npm:hand-b", fmt.Sprintf("npm:hand-%d", i)} {
				fmt.Fprintf(f, `{"schema_version":1,"ecosystem":"npm","environment":"linux-arch-glibc-arm64","package_id":%q,"category":"missing_dep","blocked_by":["libhand"],"timestamp":%q}`+"\n",
					pkg, at.Format(time.RFC3339Nano))
			}
		}
		fmt.Fprintf(f, `{"schema_version":1,"ecosystem":"npm","environment":"linux-arch-glibc-arm64","package_id":"npm:hand-a","category":"install_failed","timestamp":%q}`+"\n", ts.Format(time.RFC3339Nano))
		// More blockers than a gap's state holds, fewer at the batch's
		// time: the list kept aside is cut.
		for _, pkg := range []string{"npm:hand-c", "npm:hand-d"} {
			for _, at := range []struct {
				ts   time.Time
				deps string
			}{{ts.Add(-time.Nanosecond), `"libhand","libmid","libz"`}, {ts, `"libhand","libz"`}} {
				fmt.Fprintf(f, `{"schema_version":1,"ecosystem":"npm","environment":"linux-arch-glibc-arm64","package_id":%q,"category":"missing_dep","blocked_by":[%s],"timestamp":%q}`+"\n",
					pkg, at.deps, at.ts.Format(time.RFC3339Nano))
			}
		}
	}
	f.Close()
	gaps, incidents := 0, 0
	for _, by := range []model.Level{model.LevelEnv, model.LevelFamily} {
		for _, ecos := range [][]string{nil, {"npm"}} {
			for _, ts := range picked {
				after := base
				after.By, after.Ecosystems, after.Until = by, ecos, ts
				before := after
				before.Until = ts.Add(-time.Nanosecond)
				opts := []ReportOptions{after, before}
				n := extended.Load()
				together, _, err := buildReports(fsys, dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				if extended.Load() != n+1 {
					t.Fatalf("by %v, %v, until %v: %d aggregates extended, want 1", by, ecos, ts, extended.Load()-n)
				}
				for i, o := range opts {
					alone := sameAsAlone(t, fsys, dir, o, together[i], fmt.Sprintf("by %v, report %d, extended", by, i))
					for _, in := range alone.Insights {
						switch in.Kind {
						case KindGap:
							gaps++
						case KindIncident:
							incidents++
						}
					}
				}
			}
		}
	}
	if gaps == 0 || incidents == 0 || len(all.Insights) == 0 {
		t.Fatalf("%d capability gaps and %d incidents in the reports compared", gaps, incidents)
	}
}

// TestReportPlan: a plan may set the reports' windows and clocks, which
// the reports then have, and nothing else.
func TestReportPlan(t *testing.T) {
	dir := t.TempDir()
	so := simulate.DefaultOptions
	so.Batches, so.Seed = 20, 3
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)
	base := DefaultReportOptions(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	runs := 0
	var last time.Time
	h := &reportHooks{
		run: func(b *model.BatchRun) {
			runs++
			if b.Timestamp.After(last) {
				last = b.Timestamp
			}
		},
		plan: func(opts []ReportOptions) error {
			opts[0].Until, opts[0].Now = last.Add(-time.Nanosecond), last
			return nil
		},
	}
	got, _, err := buildReportsWith(fsys, dir, []ReportOptions{base}, h)
	if err != nil {
		t.Fatal(err)
	}
	if runs != 20 || h.commits == nil {
		t.Fatalf("the hooks saw %d runs and commits %v", runs, h.commits)
	}
	want := base
	want.Until, want.Now = last.Add(-time.Nanosecond), last
	if alone := sameAsAlone(t, fsys, dir, want, got[0], "the planned report"); alone.Batches != 19 {
		t.Fatalf("the planned report has %d batches, want 19", alone.Batches)
	}
	h.plan = func(opts []ReportOptions) error {
		opts[0].By = model.LevelFamily
		return nil
	}
	if _, _, err := buildReportsWith(fsys, dir, []ReportOptions{base}, h); err == nil {
		t.Fatal("a plan changed the level")
	}
}

// TestDuplicateBlockers: a blocker named twice in a record counts once,
// in a report computed alone (records read in file order) and in one
// extended from another (merged in another order).
func TestDuplicateBlockers(t *testing.T) {
	dir := t.TempDir()
	so := simulate.DefaultOptions
	so.Batches, so.Seed = 12, 9
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)
	var times []time.Time
	rd := reader.New(fsys, dir, reader.Options{SkipMessages: true})
	if err := rd.Metrics(func(b *model.BatchRun) { times = append(times, b.Timestamp) }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(times, time.Time.Compare)
	last, first := times[len(times)-1], times[0]
	f, err := os.OpenFile(filepath.Join(dir, "failures/npm.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The later record (the blocker twice) first in the file.
	for i := range 40 {
		pkg := fmt.Sprintf("npm:dup-%d", i)
		fmt.Fprintf(f, `{"schema_version":1,"ecosystem":"npm","environment":"linux-arch-glibc-arm64","package_id":%q,"category":"missing_dep","blocked_by":["libdup","libdup"],"timestamp":%q}`+"\n", pkg, last.Format(time.RFC3339Nano))
		fmt.Fprintf(f, `{"schema_version":1,"ecosystem":"npm","environment":"linux-arch-glibc-arm64","package_id":%q,"category":"missing_dep","blocked_by":["libdup"],"timestamp":%q}`+"\n", pkg, first.Format(time.RFC3339Nano))
	}
	f.Close()
	after := DefaultReportOptions(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	after.insightsOnly = true
	after.Until = last
	before := after
	before.Until = last.Add(-time.Nanosecond)
	together, _, err := buildReports(fsys, dir, []ReportOptions{after, before})
	if err != nil {
		t.Fatal(err)
	}
	alone := sameAsAlone(t, fsys, dir, after, together[0], "the extended report")
	found := false
	for _, in := range alone.Insights {
		if in.Kind == KindGap && slices.Equal(in.BlockedBy, []string{"libdup"}) {
			found = true
			if in.Recipes != 40 {
				t.Fatalf("libdup blocks %d recipes, want 40: %s", in.Recipes, in.Evidence)
			}
		}
	}
	if !found {
		t.Fatalf("no gap names libdup: %+v", alone.Insights)
	}
}
