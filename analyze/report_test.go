package analyze

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batchsli/batchsli/model"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

type plat = map[string]model.Counts

func runLine(id, eco string, ts time.Time, p plat, minutes *int64) string {
	for k, c := range p {
		c.SkippedKnown = true
		p[k] = c
	}
	r := model.BatchRun{SchemaVersion: 2, BatchID: id, Ecosystem: eco, Platforms: p, Timestamp: ts, MacOSMinutesUsed: minutes}
	b, _ := json.Marshal(r)
	return string(b)
}

func failLine(batch, eco, env, recipe, cat string, blocked ...string) string {
	f := model.Failure{SchemaVersion: 2, BatchID: batch, Ecosystem: eco, Environment: env, PackageID: eco + ":" + recipe, Category: cat, BlockedBy: blocked, Timestamp: t0}
	b, _ := json.Marshal(f)
	return string(b)
}

func dataFS(runs, failures []string) fstest.MapFS {
	return fstest.MapFS{
		"metrics/batch-runs.jsonl": {Data: []byte(strings.Join(runs, "\n") + "\n")},
		"failures/all.jsonl":       {Data: []byte(strings.Join(failures, "\n") + "\n")},
	}
}

func report(t *testing.T, fsys fstest.MapFS, mod func(*ReportOptions)) *Report {
	t.Helper()
	o := DefaultReportOptions(t0.AddDate(0, 0, 3))
	if mod != nil {
		mod(&o)
	}
	r, err := BuildReport(fsys, "test", o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Fatalf("problems: %v", r.Problems)
	}
	return r
}

func insights(r *Report, kind string) []Insight {
	var out []Insight
	for _, in := range r.Insights {
		if in.Kind == kind {
			out = append(out, in)
		}
	}
	return out
}

func c(passed, failed int64) model.Counts {
	return model.Counts{Tested: passed + failed, Passed: passed, Failed: failed}
}

func TestSkipAdvice(t *testing.T) {
	tests := []struct {
		name    string
		counts  []model.Counts // one per batch
		advised bool
		verdict string
	}{
		{"clear yes", []model.Counts{c(1, 19), c(0, 20), c(2, 18), c(1, 19), c(1, 19)}, true, "fail above 80.0% at q <= 0.05"},
		{"clear no", []model.Counts{c(10, 10), c(11, 9), c(9, 11), c(10, 10), c(10, 10)}, false, "no ecosystem fails above 80.0%"},
		{"one batch, all failing", []model.Counts{c(0, 30)}, false, "too little data to test (under 3 batches or 10 tests)"},
		{"two batches", []model.Counts{c(0, 30), c(0, 30)}, false, "too little data to test"},
		{"above threshold, not significant", []model.Counts{c(2, 10), c(3, 9), c(2, 10)}, false, "but not significantly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs []string
			var tested int64
			for i, k := range tt.counts {
				tested += k.Tested
				runs = append(runs, runLine(fmt.Sprintf("b%d", i), "npm", t0.Add(time.Duration(i+1)*time.Hour), plat{"linux-musl-x86_64": k, "linux-glibc-x86_64": c(18, 2)}, nil))
			}
			r := report(t, dataFS(runs, nil), nil)
			got := insights(r, KindSkip)
			if (len(got) == 1) != tt.advised || len(got) > 1 {
				t.Fatalf("skip insights %+v, advised want %v (%s)", got, tt.advised, r.Verdicts.SkipAdvice)
			}
			if tt.advised {
				in := got[0]
				if in.Ecosystem != "npm" || in.Platform != "linux-musl-x86_64" || in.N != tested || *in.Q > 0.05 || in.Batches != len(tt.counts) {
					t.Errorf("insight %+v", in)
				}
				if in.MinutesPerWeek != nil {
					t.Errorf("a window of hours gave a weekly figure: %v", *in.MinutesPerWeek)
				}
			}
			if !strings.Contains(r.Verdicts.SkipAdvice, tt.verdict) {
				t.Errorf("verdict %q, want %q", r.Verdicts.SkipAdvice, tt.verdict)
			}
		})
	}
}

func TestSkipAdviceThreshold(t *testing.T) {
	var runs []string
	for i := 0; i < 5; i++ {
		runs = append(runs, runLine(fmt.Sprintf("b%d", i), "npm", t0.Add(time.Duration(i+1)*time.Hour), plat{"linux-musl-x86_64": c(8+int64(i%2), 12-int64(i%2))}, nil))
	}
	fsys := dataFS(runs, nil)
	if got := insights(report(t, fsys, nil), KindSkip); len(got) != 0 {
		t.Errorf("60%% failing advised at 0.8: %+v", got)
	}
	if got := insights(report(t, fsys, func(o *ReportOptions) { o.SkipThreshold = 0.4 }), KindSkip); len(got) != 1 {
		t.Errorf("58%% of 100 failing over 5 batches not advised at 0.4: %+v", got)
	}
}

// TestCapabilityGaps: a recipe counts for a cause only when every failure it
// has on the platform (at the --by level) has that cause.
func TestCapabilityGaps(t *testing.T) {
	runs := []string{runLine("b1", "homebrew", t0.Add(time.Hour), plat{
		"linux-debian-glibc-arm64": c(10, 5), "linux-rhel-glibc-arm64": c(12, 3),
	}, nil)}
	failures := []string{
		// a, b, c: only missing_dep on openssl, on both families.
		failLine("b1", "homebrew", "linux-debian-glibc-arm64", "a", "missing_dep", "openssl"),
		failLine("b1", "homebrew", "linux-rhel-glibc-arm64", "a", "missing_dep", "openssl"),
		failLine("b1", "homebrew", "linux-debian-glibc-arm64", "b", "missing_dep", "openssl", "zlib"),
		failLine("b1", "homebrew", "linux-debian-glibc-arm64", "c", "missing_dep", "openssl"),
		// d fails one way on Debian and another on RHEL: at env level it
		// counts for neither category.
		failLine("b1", "homebrew", "linux-debian-glibc-arm64", "d", "missing_dep", "openssl"),
		failLine("b1", "homebrew", "linux-rhel-glibc-arm64", "d", "binary_incompatible"),
		// e and f: binary_incompatible only; g: a timeout is not a gap.
		failLine("b1", "homebrew", "linux-debian-glibc-arm64", "e", "binary_incompatible"),
		failLine("b1", "homebrew", "linux-rhel-glibc-arm64", "f", "binary_incompatible"),
		failLine("b1", "homebrew", "linux-rhel-glibc-arm64", "g", "timeout"),
		failLine("b1", "homebrew", "linux-rhel-glibc-arm64", "h", "timeout"),
	}
	fsys := dataFS(runs, failures)
	type key struct {
		plat, cat, dep string
		n              int64
	}
	collect := func(r *Report) map[key]bool {
		m := map[key]bool{}
		for _, in := range insights(r, KindGap) {
			dep := strings.Join(in.BlockedBy, ",")
			m[key{in.Platform, in.Category, dep, in.Recipes}] = true
			if in.FailingRecipes == 0 || in.Evidence == "" {
				t.Errorf("gap without evidence: %+v", in)
			}
		}
		return m
	}
	env := collect(report(t, fsys, func(o *ReportOptions) { o.TopGaps = 10 }))
	// d fails two ways, so neither category nor openssl (absent from its
	// RHEL failure) explains it; g and h are timeouts, not gaps.
	wantEnv := map[key]bool{
		{"linux-glibc-arm64", "missing_dep", "", 3}:         true,
		{"linux-glibc-arm64", "missing_dep", "openssl", 3}:  true,
		{"linux-glibc-arm64", "binary_incompatible", "", 2}: true,
	}
	if fmt.Sprint(env) != fmt.Sprint(wantEnv) {
		t.Errorf("gaps by env:\n got %v\nwant %v", env, wantEnv)
	}
	fam := collect(report(t, fsys, func(o *ReportOptions) { o.By = model.LevelFamily; o.TopGaps = 10 }))
	wantFam := map[key]bool{
		{"linux-debian-glibc-arm64", "missing_dep", "", 4}:        true, // a, b, c, d
		{"linux-debian-glibc-arm64", "missing_dep", "openssl", 4}: true,
		{"linux-rhel-glibc-arm64", "binary_incompatible", "", 2}:  true, // d, f
	}
	if fmt.Sprint(fam) != fmt.Sprint(wantFam) {
		t.Errorf("gaps by family:\n got %v\nwant %v", fam, wantFam)
	}
}

func TestWeekOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2026-03-08T23:59:59Z", "2026-03-02"}, // Sunday 23:59 belongs to the week before
		{"2026-03-09T00:00:00Z", "2026-03-09"}, // Monday 00:00 starts a week
		{"2026-03-11T12:00:00Z", "2026-03-09"},
		{"2026-03-09T00:30:00+01:00", "2026-03-02"}, // still Sunday in UTC
	}
	for _, tt := range tests {
		ts, _ := time.Parse(time.RFC3339, tt.in)
		if got := WeekOf(ts, time.Monday).Format("2006-01-02"); got != tt.want {
			t.Errorf("WeekOf(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func minutes(n int64) *int64 { return &n }

func TestBudgetWeekBoundary(t *testing.T) {
	sunday := time.Date(2026, 3, 8, 23, 59, 0, 0, time.UTC)
	monday := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	fsys := dataFS([]string{
		runLine("sun", "cargo", sunday, plat{"darwin-arm64": c(1, 0)}, minutes(300)),
		runLine("mon", "cargo", monday, plat{"darwin-arm64": c(1, 0)}, minutes(40)),
	}, nil)
	r := report(t, fsys, func(o *ReportOptions) { o.Now = monday.Add(12 * time.Hour) })
	if r.Budget.UsedMinutes == nil || *r.Budget.UsedMinutes != 40 || r.Budget.Batches != 1 || !r.Budget.WeekStart.Equal(monday) {
		t.Errorf("budget on Monday: %+v", r.Budget)
	}
	r = report(t, fsys, func(o *ReportOptions) { o.Now = sunday.Add(30 * time.Second) })
	if r.Budget.UsedMinutes == nil || *r.Budget.UsedMinutes != 300 || r.Budget.Batches != 1 {
		t.Errorf("budget on Sunday: %+v", r.Budget)
	}
}

func TestBudgetProjection(t *testing.T) {
	// Two weeks of 250 minutes a day (at noon); on Wednesday 00:00 of the
	// third week 500 are used, and the rest of the week adds 250 a day:
	// 1750 projected, and 1000 reached two days later, on Friday 00:00.
	var runs []string
	start := t0.AddDate(0, 0, -14)
	for d := 0; d < 16; d++ {
		runs = append(runs, runLine(fmt.Sprintf("d%d", d), "cargo", start.AddDate(0, 0, d).Add(12*time.Hour), plat{"darwin-arm64": c(1, 0)}, minutes(250)))
	}
	wed := t0.AddDate(0, 0, 2)
	fsys := dataFS(runs, nil)
	b := report(t, fsys, func(o *ReportOptions) { o.Now = wed }).Budget
	if b.BurnPerDay == nil || *b.BurnPerDay != 250 || *b.ProjectedMinutes != 1750 || *b.ProjectedLow != 1750 || *b.ExceedProbability != 1 {
		t.Fatalf("budget %+v", b)
	}
	want := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)
	if b.RunOutAt == nil || !b.RunOutAt.Equal(want) || !strings.Contains(b.Status, "likely to run out: 100% chance") || !strings.Contains(b.Status, "Fri 2026-03-06 00:00") {
		t.Errorf("run out %v, status %q; want %v", b.RunOutAt, b.Status, want)
	}
	// On track with a bigger budget.
	b = report(t, fsys, func(o *ReportOptions) { o.Now = wed; o.WeekBudget = 5000 }).Budget
	if b.RunOutAt != nil || !strings.HasPrefix(b.Status, "on track: 1750 minutes projected") || *b.ExceedProbability != 0 {
		t.Errorf("budget 5000: %+v", b)
	}
	// Exhausted: the crossing batch is named.
	b = report(t, fsys, func(o *ReportOptions) { o.Now = wed; o.WeekBudget = 500 }).Budget
	if !b.Exhausted || b.RunOutAt == nil || !b.RunOutAt.Equal(t0.Add(36*time.Hour)) {
		t.Errorf("budget 500: %+v", b)
	}
	// With fewer than 7 days of recorded minutes it does not project.
	b = report(t, dataFS(runs[12:], nil), func(o *ReportOptions) { o.Now = wed }).Budget
	if !b.TooEarly || b.ProjectedMinutes != nil || b.RunOutAt != nil || !strings.HasPrefix(b.Status, "too early to project: 3.5 days") {
		t.Errorf("too early: %+v", b)
	}
}

// budgetHistory simulates weeks of macOS use: each day a Poisson number of
// batches (mean perDay) at random times, each 10 to 30 minutes, and on one
// day in ten a burst of three times as many.
func budgetHistory(seed uint64, weeks int, perDay float64) []*batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	var runs []*batch
	for d := 0; d < weeks*7; d++ {
		mean := perDay
		if rng.Float64() < 0.1 {
			mean *= 3
		}
		// Poisson by inversion.
		n, p, l := 0, 1.0, math.Exp(-mean)
		for {
			p *= rng.Float64()
			if p < l {
				break
			}
			n++
		}
		for i := 0; i < n; i++ {
			m := float64(10 + rng.IntN(21))
			ts := t0.AddDate(0, 0, d).Add(time.Duration(rng.Float64() * float64(24*time.Hour)))
			runs = append(runs, &batch{ts: ts, minutes: &m, usesMac: true})
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ts.Before(runs[j].ts) })
	return runs
}

// TestBudgetForecastCalibration: weeks that end near 70% of the budget are
// never told they will run out, checked every six hours of 30 weeks; and
// weeks that end near 130% are warned before the budget is gone in most
// weeks (the power, logged).
func TestBudgetForecastCalibration(t *testing.T) {
	check := func(perDay float64) (falseWarn, warnedWeeks, weeks, evaluations int, totals []float64) {
		const nweeks = 31
		runs := budgetHistory(uint64(perDay), nweeks, perDay)
		o := DefaultReportOptions(t0)
		for w := 1; w < nweeks; w++ {
			warned := false
			total := 0.0
			for _, b := range runs {
				if !b.ts.Before(t0.AddDate(0, 0, 7*w)) && b.ts.Before(t0.AddDate(0, 0, 7*w+7)) {
					total += *b.minutes
				}
			}
			totals = append(totals, total)
			for h := 3; h < 7*24; h += 6 {
				o.Now = t0.AddDate(0, 0, 7*w).Add(time.Duration(h) * time.Hour)
				bu := computeBudget(runs, o)
				evaluations++
				if bu.RunOutAt != nil && !bu.Exhausted {
					if total < o.WeekBudget {
						falseWarn++
					}
					warned = true
				}
				if bu.Exhausted {
					break
				}
			}
			weeks++
			if warned {
				warnedWeeks++
			}
		}
		return
	}
	// 100 minutes a day on average (with bursts: 5 batches of 20 minutes,
	// 10% of days tripled): weeks end near 70% of 1000.
	fw, _, weeks, evals, totals := check(100.0 / 20 / 1.2)
	sort.Float64s(totals)
	t.Logf("~70%%: %d weeks, median total %.0f min (max %.0f), %d evaluations, %d false warnings", weeks, totals[len(totals)/2], totals[len(totals)-1], evals, fw)
	if fw != 0 {
		t.Errorf("%d false warnings over %d evaluations", fw, evals)
	}
	// 1300 minutes a week: the budget runs out; most weeks are warned
	// before it does.
	_, warned, weeks, _, totals := check(1300.0 / 7 / 20 / 1.2)
	sort.Float64s(totals)
	t.Logf("~130%%: %d weeks, median total %.0f min, warned in %d", weeks, totals[len(totals)/2], warned)
	if float64(warned) < 0.8*float64(weeks) {
		t.Errorf("warned in %d of %d weeks that ran out", warned, weeks)
	}
}

func TestBudgetUnknownIsNotZero(t *testing.T) {
	// v1-style records: darwin tested, no minutes, no durations.
	fsys := fstest.MapFS{"metrics/batch-runs.jsonl": {Data: []byte(
		`{"batch_id":"x","ecosystem":"homebrew","platforms":{"darwin-arm64":{"tested":2,"passed":2,"failed":0}},"timestamp":"2026-03-03T00:00:00Z"}` + "\n")}}
	r := report(t, fsys, nil)
	if r.Budget.UsedMinutes != nil || r.Budget.UnknownBatches != 1 || !strings.HasPrefix(r.Budget.Status, "unknown") {
		t.Errorf("budget %+v, want unknown", r.Budget)
	}
	j, _ := json.Marshal(r.Budget)
	if !strings.Contains(string(j), `"used_minutes":null`) {
		t.Errorf("JSON %s, want used_minutes null", j)
	}
}

// TestBudgetNoProjectionWithoutMinutes: an empty week projects nothing
// from trailing days in which no batch ran, or whose batches did not
// record their macOS minutes (unknown, never zero).
func TestBudgetNoProjectionWithoutMinutes(t *testing.T) {
	var old, unknown []string
	for d := 0; d < 10; d++ {
		old = append(old, runLine(fmt.Sprintf("o%d", d), "cargo", t0.AddDate(0, 0, -60+d), plat{"darwin-arm64": c(1, 0)}, minutes(100)))
		unknown = append(unknown, runLine(fmt.Sprintf("u%d", d), "cargo", t0.AddDate(0, 0, -12+d), plat{"darwin-arm64": c(1, 0)}, nil))
	}
	wed := t0.AddDate(0, 0, 2) // no batch this week in either history
	for _, tt := range []struct {
		name string
		runs []string
		want string
	}{
		{"idle", old, "no projection: no batch ran in the last 28 days"},
		{"unrecorded", append(slices.Clone(old), unknown...), "no projection: the last 28 days' 10 batches did not record their macOS minutes"},
	} {
		b := report(t, dataFS(tt.runs, nil), func(o *ReportOptions) { o.Now = wed }).Budget
		if b.Status != tt.want || b.ProjectedMinutes != nil || b.ExceedProbability != nil || b.TooEarly || b.UsedMinutes == nil || *b.UsedMinutes != 0 {
			t.Errorf("%s: %+v; want %q and no projection", tt.name, b, tt.want)
		}
	}
	// A recent batch with its minutes gives a projection again.
	recent := append(slices.Clone(old), runLine("r", "cargo", t0.AddDate(0, 0, -3), plat{"darwin-arm64": c(1, 0)}, minutes(70)))
	if b := report(t, dataFS(recent, nil), func(o *ReportOptions) { o.Now = wed }).Budget; b.ProjectedMinutes == nil || !strings.HasPrefix(b.Status, "on track") {
		t.Errorf("recent minutes: %+v", b)
	}
}

func TestWeakestAndRegression(t *testing.T) {
	var runs []string
	for i := 0; i < 10; i++ {
		musl := c(90, 10)
		if i >= 5 {
			musl = c(40, 60) // falls in the newer half
		}
		runs = append(runs, runLine(fmt.Sprintf("b%d", i), "cargo", t0.Add(time.Duration(i)*time.Hour),
			plat{"linux-glibc-x86_64": c(95, 5), "linux-musl-x86_64": musl, "darwin-arm64": c(1, 0)}, nil))
	}
	r := report(t, dataFS(runs, nil), nil)
	w := insights(r, KindWeakest)
	if len(w) != 1 || w[0].Platform != "linux-musl-x86_64" {
		t.Errorf("weakest: %+v (%s)", w, r.Verdicts.WeakestPlatform)
	}
	reg := insights(r, KindRegression)
	if len(reg) != 1 || reg[0].Platform != "linux-musl-x86_64" || *reg[0].Change > -0.4 {
		t.Errorf("regressions: %+v", reg)
	}
	// darwin-arm64 has 10 tests: its interval is wide, so nothing can be
	// called weakest when only it and a close platform remain.
	r = report(t, dataFS(runs, nil), func(o *ReportOptions) { o.Platforms = []string{"darwin-arm64", "linux-glibc-x86_64"} })
	if len(insights(r, KindWeakest)) != 0 || !strings.Contains(r.Verdicts.WeakestPlatform, "no group is significantly below the rest") {
		t.Errorf("weakest among darwin and glibc: %s", r.Verdicts.WeakestPlatform)
	}
}

func TestWindowLastAndFailureTimes(t *testing.T) {
	var runs []string
	for i := 0; i < 6; i++ {
		runs = append(runs, runLine(fmt.Sprintf("b%d", i), "cargo", t0.Add(time.Duration(i)*time.Hour), plat{"linux-glibc-x86_64": c(9, 1)}, nil))
	}
	// An empty run inside the window, and flat failures without batch IDs.
	runs = append(runs, runLine("empty", "cargo", t0.Add(4*time.Hour+30*time.Minute), plat{"linux-glibc-x86_64": {}}, nil))
	flat := func(h float64) string {
		return fmt.Sprintf(`{"schema_version":1,"recipe":"r%v","platform":"linux-debian-glibc-x86_64","exit_code":6,"timestamp":"%s"}`,
			h, t0.Add(time.Duration(h*float64(time.Hour))).Format(time.RFC3339Nano))
	}
	failures := []string{flat(2), flat(3), flat(3.5), flat(5), failLine("b1", "cargo", "linux-glibc-x86_64", "x", "install_failed"), failLine("b5", "cargo", "linux-glibc-x86_64", "y", "install_failed")}
	r := report(t, dataFS(runs, failures), func(o *ReportOptions) { o.Last = 3 })
	if r.Batches != 3 || r.EmptyRuns != 1 || r.Window.PreviousBatches != 3 {
		t.Fatalf("batches %d, empty %d, previous %d", r.Batches, r.EmptyRuns, r.Window.PreviousBatches)
	}
	p := r.Platforms[0]
	if p.Tested != 30 || p.Trend == nil || p.Trend.PreviousTested != 30 {
		t.Errorf("platform %+v", p)
	}
	// Window = b3, b4, b5: failures after b2 (hour 2): flat 3, 3.5, 5, and b5's; not b1's, not flat 2.
	var n int64
	for _, cs := range r.Categories {
		n += cs.Count
	}
	if n != 4 {
		t.Errorf("%d failures in the window, want 4", n)
	}
}

func TestMixedV1RunsAreNotApportioned(t *testing.T) {
	fsys := fstest.MapFS{"metrics/batch-runs.jsonl": {Data: []byte(
		`{"batch_id":"m","ecosystems":{"npm":1,"pypi":1},"platforms":{"linux-x86_64":{"tested":4,"passed":3,"failed":1}},"timestamp":"2026-03-03T00:00:00Z"}` + "\n" +
			runLine("v2", "mixed", t0.Add(time.Hour), plat{"linux-glibc-x86_64": c(2, 1)}, nil) + "\n")}}
	// Give the v2 mixed run a by_ecosystem split.
	v2 := `{"schema_version":2,"batch_id":"v2m","ecosystem":"mixed","ecosystems":{"npm":2,"pypi":1},"total":3,"platforms":{"linux-glibc-x86_64":{"tested":3,"passed":2,"failed":1,"skipped":0}},"by_ecosystem":{"npm":{"linux-glibc-x86_64":{"tested":2,"passed":2,"failed":0,"skipped":0}},"pypi":{"linux-glibc-x86_64":{"tested":1,"passed":0,"failed":1,"skipped":0}}},"timestamp":"2026-03-02T02:00:00Z"}`
	fsys["metrics/batch-runs-2.jsonl"] = &fstest.MapFile{Data: []byte(v2 + "\n")}
	r := report(t, fsys, func(o *ReportOptions) { o.By = model.LevelJob })
	got := map[string]int64{}
	for _, m := range r.Matrix {
		got[m.Ecosystem+"/"+m.Platform] = m.Tested
	}
	want := map[string]int64{"mixed/linux-x86_64": 4 + 3, "npm/linux-x86_64": 2, "pypi/linux-x86_64": 1}
	// The v2 "mixed" run without by_ecosystem stays under mixed; the one
	// with by_ecosystem is split exactly.
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("matrix %v, want %v", got, want)
	}
}

func TestBudgetBatchMinutes(t *testing.T) {
	d := func(f float64) *float64 { return &f }
	tests := []struct {
		name  string
		run   model.BatchRun
		known bool
		want  float64
	}{
		{"recorded", model.BatchRun{MacOSMinutesUsed: minutes(42), Platforms: plat{"darwin-arm64": c(1, 0)}}, true, 42},
		{"from durations, ceil per platform", model.BatchRun{Platforms: plat{
			"darwin-arm64":  {Tested: 1, Passed: 1, DurationSeconds: d(61)},
			"darwin-x86_64": {Tested: 1, Passed: 1, DurationSeconds: d(60)},
			"linux-x86_64":  {Tested: 1, Passed: 1, DurationSeconds: d(600)}}}, true, 3},
		{"no darwin platform", model.BatchRun{Platforms: plat{"linux-x86_64": c(1, 0)}}, true, 0},
		{"darwin tested, no duration", model.BatchRun{Platforms: plat{"darwin-arm64": c(1, 0)}}, false, 0},
		{"darwin untested, no duration (v1 says nothing)", model.BatchRun{Platforms: plat{"darwin-arm64": {}}}, false, 0},
	}
	for _, tt := range tests {
		got, known := MacOSMinutes(&tt.run)
		if known != tt.known || got != tt.want {
			t.Errorf("%s: %v, %v; want %v, %v", tt.name, got, known, tt.want, tt.known)
		}
	}
}

// TestInfraByTimeNotWrapped: infrastructure failures without a batch ID
// (version 1 records) are matched to batches by their time, whole: records
// 2^64 nanoseconds (about 585 years) after a batch, whose Unix nanoseconds
// wrap to the batch's, are not that batch's (they made it an incident).
func TestInfraByTimeNotWrapped(t *testing.T) {
	env := "linux-debian-glibc-x86_64"
	ts := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	far := time.Unix(ts.Unix()+18446744073, 709551616).UTC()
	if far.UnixNano() != ts.UnixNano() || far.Equal(ts) {
		t.Fatalf("%s does not wrap to %s", far, ts)
	}
	run := model.BatchRun{SchemaVersion: 2, BatchID: "b1", Ecosystem: "npm", Timestamp: ts,
		Platforms: map[string]model.Counts{env: {Tested: 4, Failed: 4, SkippedKnown: true}}}
	rb, _ := json.Marshal(run)
	runs := []string{string(rb)}
	var fails []string
	for i := range 4 {
		f := model.Failure{SchemaVersion: 1, Ecosystem: "npm", Environment: env,
			PackageID: fmt.Sprint("npm:r", i), Category: model.CatNetworkError, Timestamp: far}
		b, _ := json.Marshal(f)
		fails = append(fails, string(b))
	}
	r := report(t, dataFS(runs, fails), func(o *ReportOptions) { o.By = model.LevelFamily; o.Now = ts.Add(time.Hour) })
	if len(r.Platforms) != 1 {
		t.Fatalf("platforms %+v", r.Platforms)
	}
	if inc := r.Platforms[0].Health.Incidents; len(inc) != 0 {
		t.Fatalf("the far records made batch %v an incident", inc)
	}
}
