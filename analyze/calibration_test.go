package analyze

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/sample"
	"github.com/batchsli/batchsli/simulate"
)

var calibrationLong = flag.Bool("calibration-long", false, "run the report calibration with 200 histories per setting (minutes)")

// sampleBatches lists the sample's batch IDs and times in time order.
func sampleBatches(t *testing.T) []*model.BatchRun {
	t.Helper()
	var runs []*model.BatchRun
	rd := reader.New(sample.FS(), "sample", reader.DefaultOptions)
	if err := rd.Metrics(func(b *model.BatchRun) { runs = append(runs, b) }); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Timestamp.Before(runs[j].Timestamp) })
	return runs
}

// TestSampleReplay replays the built-in sample batch by batch, as `record`
// sees it after each one: at most one false regression warning over its
// 120 batches, and the real one (linux-rhel-glibc-arm64 from batch 100,
// simulate's last sixth) warned about, with a start near batch 100.
func TestSampleReplay(t *testing.T) {
	if raceOn {
		t.Skip("statistical replay of 120 batches: run without -race (.ci/run does)")
	}
	runs := sampleBatches(t)
	if len(runs) != 120 {
		t.Fatalf("%d batches in the sample", len(runs))
	}
	index := map[string]int{}
	for i, r := range runs {
		index[r.BatchID] = i
	}
	const real, from = "linux-rhel-glibc-arm64", 100
	falseWarnings, found := 0, false
	for _, r := range runs {
		o := DefaultSummaryOptions()
		o.BatchID = r.BatchID
		s, err := BuildSummary(sample.FS(), "sample", o)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range s.NewInsights {
			if in.Kind != KindRegression {
				continue
			}
			start := -1
			for i, x := range runs {
				if in.Start != nil && x.Timestamp.Equal(*in.Start) {
					start = i
				}
			}
			t.Logf("batch %d (%s): regression on %s from batch %d: %s", index[r.BatchID], r.BatchID, in.Platform, start, in.Evidence)
			if in.Platform == real && index[r.BatchID] >= from {
				found = true
				if start < from-10 || start > from+10 {
					t.Errorf("the regression's start is batch %d, want near %d", start, from)
				}
				continue
			}
			falseWarnings++
		}
		var warned bool
		for _, w := range s.Warnings {
			if strings.HasPrefix(w.Title, "Regression on ") {
				warned = true
			}
		}
		if warned != (len(regressionInsights(s.NewInsights)) > 0) {
			t.Errorf("batch %s: warnings %v do not match the regressions found", r.BatchID, s.Warnings)
		}
	}
	if falseWarnings > 1 {
		t.Errorf("%d false regression warnings over 120 batches", falseWarnings)
	}
	if !found {
		t.Errorf("the regression on %s was never warned about", real)
	}
}

func regressionInsights(ins []Insight) []Insight {
	var out []Insight
	for _, in := range ins {
		if in.Kind == KindRegression {
			out = append(out, in)
		}
	}
	return out
}

// TestTsukuRegressionsHoldWithinEcosystems: on tsuku's history, for every
// window and level, every regression the report names also shows as a drop
// within each ecosystem tested in both windows.
func TestTsukuRegressionsHoldWithinEcosystems(t *testing.T) {
	const dir = "../../shared/tsuku-data"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no tsuku data beside the repository")
	}
	if raceOn {
		t.Skip("many whole reports: run without -race (.ci/run does)")
	}
	now := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	for _, by := range []model.Level{model.LevelFamily, model.LevelEnv, model.LevelJob, model.LevelOS} {
		for _, last := range []int{0, 10, 20, 30, 39} {
			o := DefaultReportOptions(now)
			o.By, o.Last = by, last
			r, err := BuildReport(os.DirFS(dir), dir, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range insights(r, KindRegression) {
				for _, p := range r.Platforms {
					if p.Platform != in.Platform {
						continue
					}
					for _, e := range p.Trend.Strata {
						// Each ecosystem's own comparison.
						eo := o
						eo.Ecosystems = []string{e}
						er, err := BuildReport(os.DirFS(dir), dir, eo)
						if err != nil {
							t.Fatal(err)
						}
						for _, ep := range er.Platforms {
							if ep.Platform == p.Platform && ep.Trend != nil && ep.Trend.Testable && ep.Trend.Change >= 0 {
								t.Errorf("by %s, last %d: %s named regressed but rose within %s: %s", by, last, p.Platform, e, in.Evidence)
							}
						}
					}
				}
			}
		}
	}
}

// TestSimpsonNoRegression: a platform steady within each ecosystem, whose
// newer batches hold a harder ecosystem, is not named regressed, and the
// report says the mix moved.
func TestSimpsonNoRegression(t *testing.T) {
	var runs []string
	for i := 0; i < 40; i++ {
		eco, k := "crates.io", c(19, 1)
		if (i < 20) == (i%4 == 0) { // older: mostly crates.io; newer: mostly npm
			eco, k = "npm", c(10, 10)
		}
		runs = append(runs, runLine(fmt.Sprintf("b%d", i), eco, t0.Add(time.Duration(i)*time.Hour),
			plat{"linux-glibc-x86_64": k, "linux-musl-x86_64": c(10, 10)}, nil))
	}
	r := report(t, dataFS(runs, nil), nil)
	for _, p := range r.Platforms {
		if p.Platform != "linux-glibc-x86_64" {
			continue
		}
		tr := p.Trend
		if tr.CrudeChange > -0.2 || math.Abs(tr.Change) > 0.01 || tr.MixShift < 0.4 {
			t.Errorf("trend %+v", tr)
		}
	}
	if reg := insights(r, KindRegression); len(reg) > 0 {
		t.Errorf("regression named from the mix alone: %+v", reg)
	}
}

// calibrationCase is one simulated setting of TestReportCalibration.
type calibrationCase struct {
	name string
	o    simulate.Options
	// truth says which claims are real.
	realRegression, realWeakest map[string]bool
}

// TestReportCalibration simulates histories (120 batches, eleven
// platforms, progressive validation) with batch effects of intra-batch
// correlation 0 to 0.2, runner outages in 2 to 5% of batches and a drifting
// ecosystem mix, and counts the reports that name a false regression, a
// false weakest platform, a false skip, or whose detector alarms falsely:
// each at most 5% plus two standard errors. It also measures the power to
// find a 10-point drop over the last 20 batches (window test on --last 20
// and the detector) and two platforms 30 points below the rest.
func TestReportCalibration(t *testing.T) {
	reps := 60
	if *calibrationLong {
		reps = 300
	}
	if testing.Short() || raceOn {
		reps = 3
	}
	type tally struct {
		reports, falseReg, falseWeak, falseSkip, falseAlarm int
		cells, covered                                      int
		foundReg, foundAlarm, foundWeak, foundSkip          int
	}
	start := simulate.DefaultOptions.Start
	for _, icc := range []float64{0, 0.05, 0.2} {
		for _, scenario := range []string{"null", "drop", "weak", "skipnull", "skip", "gatefix", "gatefix-shared"} {
			var tl tally
			for rep := 0; rep < reps; rep++ {
				o := simulate.Options{Batches: 120, Seed: uint64(1000*rep + int(icc*100) + 7), Start: start,
					Uniform: true, ICC: icc, Outages: 0.02 + 0.03*float64(rep%4)/3, MixDrift: true, Shared: 0.5}
				switch scenario {
				case "drop":
					o.Changes = []simulate.Change{{Platform: "linux-rhel-glibc-arm64", At: 100.0 / 119, Drop: 0.10}}
				case "weak":
					o.Offsets = map[string]float64{"linux-alpine-musl-x86_64": 0.30, "linux-alpine-musl-arm64": 0.30}
				case "skipnull":
					// Recipe failure rate 0.8 x 0.95 / (1 - 0.8 x 0.05) =
					// 79.2% (a twentieth of failures are the network's):
					// just under the threshold in every ecosystem.
					o.Fixed = map[string]float64{"linux-alpine-musl-x86_64": 0.2, "linux-alpine-musl-arm64": 0.2}
				case "gatefix-shared":
					// The same with most difficulty shared: the gate's fix
					// sends much harder recipes downstream.
					o.Shared = 0.8
					o.Changes = []simulate.Change{{Platform: "linux-debian-glibc-x86_64", At: 0.5, Drop: -0.08}}
				case "gatefix":
					// The gate of every other platform gets 8 points better
					// half-way: harder recipes reach the platforms it gates
					// (their difficulty is half shared), whose rates fall
					// with no regression of their own.
					o.Changes = []simulate.Change{{Platform: "linux-debian-glibc-x86_64", At: 0.5, Drop: -0.08}}
				case "skip":
					// 94.7%: every musl cell should be advised.
					o.Fixed = map[string]float64{"linux-alpine-musl-x86_64": 0.05, "linux-alpine-musl-arm64": 0.05}
				}
				dir := t.TempDir()
				last, err := simulate.Write(dir, o)
				if err != nil {
					t.Fatal(err)
				}
				ro := DefaultReportOptions(last.Add(time.Hour))
				ro.By = model.LevelFamily
				whole, err := BuildReport(os.DirFS(dir), dir, ro)
				if err != nil {
					t.Fatal(err)
				}
				ro.Last = 20
				recent, err := BuildReport(os.DirFS(dir), dir, ro)
				if err != nil {
					t.Fatal(err)
				}
				tl.reports++
				var fa, gotReg, gotAlarm bool
				// Each report is a claim of its own: the whole history's
				// and the last 20 batches'.
				for _, r := range []*Report{whole, recent} {
					fr, fs := false, false
					for _, in := range insights(r, KindRegression) {
						if scenario == "drop" && in.Platform == "linux-rhel-glibc-arm64" {
							if r == recent {
								gotReg = true
							}
							continue
						}
						fr = true
					}
					// Only the musl cells of the "skip" scenario fail above
					// the threshold.
					for _, in := range insights(r, KindSkip) {
						if scenario == "skip" && strings.Contains(in.Platform, "musl") {
							if r == whole {
								tl.foundSkip++
							}
							continue
						}
						fs = true
					}
					if fr {
						tl.falseReg++
					}
					if fs {
						tl.falseSkip++
					}
				}
				for _, p := range whole.Platforms {
					if p.Detector == nil {
						continue
					}
					for _, a := range p.Detector.Alarms {
						if a.PopulationChanged {
							continue // not a regression, and said so
						}
						if scenario == "drop" && p.Platform == "linux-rhel-glibc-arm64" && a.AtTime.After(whole.Window.Last.Add(-time.Hour*24*4)) {
							gotAlarm = true
							continue
						}
						fa = true
					}
				}
				if scenario == "null" {
					// Coverage of the matrix's printed intervals on the
					// ungated platform, whose recipe pass rate is known
					// under Uniform (downstream, shared difficulty makes
					// the conditional rate depend on the gates).
					for _, c := range whole.Matrix {
						p, ok := simulate.EcosystemPass(c.Ecosystem)
						if !ok || c.CILow == nil || c.Platform != "linux-debian-glibc-x86_64" {
							continue
						}
						truth := p / (p + (1-p)*(1-simulate.InfraShare))
						tl.cells++
						if *c.CILow <= truth && truth <= *c.CIHigh {
							tl.covered++
						}
					}
				}
				fw := false
				for _, in := range insights(whole, KindWeakest) {
					if scenario == "weak" || scenario == "skip" || scenario == "skipnull" {
						g := append([]string(nil), in.Group...)
						sort.Strings(g)
						if strings.Join(g, ",") == "linux-alpine-musl-arm64,linux-alpine-musl-x86_64" {
							tl.foundWeak++
							continue
						}
						// One musl platform alone is false: its equally low
						// twin is among the "others" it is claimed below.
					}
					fw = true
				}
				if fw {
					tl.falseWeak++
				}
				if fa {
					tl.falseAlarm++
				}
				if gotReg {
					tl.foundReg++
				}
				if gotAlarm {
					tl.foundAlarm++
				}
			}
			n := float64(tl.reports)
			limit := 0.05 + 2*math.Sqrt(0.05*0.95/n)
			// Regression and skip claims come from two reports per history.
			n2 := 2 * n
			limit2 := 0.05 + 2*math.Sqrt(0.05*0.95/n2)
			t.Logf("icc %.2f %-4s: %d histories; false regression %.1f%%, false weakest %.1f%%, false skip %.1f%%, false detector alarm %.1f%%; found: regression (--last 20) %.0f%%, detector %.0f%%, weak pair %.0f%%, musl skip cells %.1f per report",
				icc, scenario, tl.reports, 100*float64(tl.falseReg)/n2, 100*float64(tl.falseWeak)/n, 100*float64(tl.falseSkip)/n2, 100*float64(tl.falseAlarm)/n,
				100*float64(tl.foundReg)/n, 100*float64(tl.foundAlarm)/n, 100*float64(tl.foundWeak)/n, float64(tl.foundSkip)/n)
			if raceOn {
				continue // a smoke run of every path: too few histories to judge rates
			}
			if tl.cells > 0 {
				cov := float64(tl.covered) / float64(tl.cells)
				t.Logf("icc %.2f: the matrix's 95%% intervals covered the true rate in %.1f%% of %d cells", icc, 100*cov, tl.cells)
				if cov < 0.93 {
					t.Errorf("icc %.2f: coverage %.1f%% of %d cells", icc, 100*cov, tl.cells)
				}
			}
			for what, k := range map[string]int{"weakest platform": tl.falseWeak, "detector alarm": tl.falseAlarm} {
				if float64(k)/n > limit {
					t.Errorf("icc %.2f %s: a false %s in %d of %d histories", icc, scenario, what, k, tl.reports)
				}
			}
			for what, k := range map[string]int{"regression": tl.falseReg, "skip": tl.falseSkip} {
				if float64(k)/n2 > limit2 {
					t.Errorf("icc %.2f %s: a false %s in %d of %d reports", icc, scenario, what, k, 2*tl.reports)
				}
			}
			if (scenario == "weak" || scenario == "skip" || scenario == "skipnull") && float64(tl.foundWeak)/n < 0.5 {
				t.Errorf("icc %.2f: the two weak platforms found in %d of %d reports", icc, tl.foundWeak, tl.reports)
			}
		}
	}
	_ = infer.Q
}

// TestBrokenRunnerIsAnIncident: one batch whose runner failed every test
// with network_error is named an incident, not a regression, and gives no
// skip advice; the recipe rate is unchanged by it.
func TestBrokenRunnerIsAnIncident(t *testing.T) {
	var runs, fails []string
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("b%02d", i)
		musl := c(16, 4)
		if i == 29 {
			musl = c(0, 16)
			for k := 0; k < 16; k++ {
				fails = append(fails, failLine(id, "npm", "linux-musl-x86_64", fmt.Sprintf("r%d", k), model.CatNetworkError))
			}
		}
		runs = append(runs, runLine(id, "npm", t0.Add(time.Duration(i)*time.Hour), plat{"linux-glibc-x86_64": c(18, 2), "linux-musl-x86_64": musl}, nil))
	}
	for _, last := range []int{0, 1, 5} {
		r := report(t, dataFS(runs, fails), func(o *ReportOptions) { o.Last = last })
		if reg := insights(r, KindRegression); len(reg) > 0 {
			t.Errorf("last %d: a broken runner named a regression: %+v", last, reg)
		}
		if sk := insights(r, KindSkip); len(sk) > 0 {
			t.Errorf("last %d: a broken runner gave skip advice: %+v", last, sk)
		}
		inc := insights(r, KindIncident)
		if len(inc) != 1 || inc[0].Platform != "linux-musl-x86_64" || !strings.Contains(inc[0].Evidence, "b29") {
			t.Errorf("last %d: incidents %+v", last, inc)
		}
		for _, p := range r.Platforms {
			if p.Platform == "linux-musl-x86_64" && (p.PassRate != nil && *p.PassRate != 0.8) {
				t.Errorf("last %d: musl recipe rate %v, want 0.8 (or none)", last, *p.PassRate)
			}
		}
	}
}

// TestNothingTestedHasNoRate: a platform whose batches only skipped has a
// null pass rate, no interval and no trend, never 0%.
func TestNothingTestedHasNoRate(t *testing.T) {
	var runs []string
	for i := 0; i < 4; i++ {
		runs = append(runs, runLine(fmt.Sprintf("b%d", i), "npm", t0.Add(time.Duration(i)*time.Hour),
			plat{"linux-glibc-x86_64": c(9, 1), "darwin-arm64": {Skipped: 10}}, nil))
	}
	r := report(t, dataFS(runs, nil), nil)
	for _, p := range r.Platforms {
		if p.Platform == "darwin-arm64" && (p.PassRate != nil || p.CILow != nil || p.N != 0) {
			t.Errorf("darwin-arm64 tested nothing: %+v", p)
		}
		if p.Platform == "linux-glibc-x86_64" && (p.CILow == nil || p.RateBatches != 4) {
			t.Errorf("glibc: %+v", p)
		}
	}
}

// TestTooFewBatchesNoInterval: two batches give a rate but no interval.
func TestTooFewBatchesNoInterval(t *testing.T) {
	runs := []string{
		runLine("b0", "npm", t0.Add(time.Hour), plat{"linux-glibc-x86_64": c(90, 10)}, nil),
		runLine("b1", "npm", t0.Add(2*time.Hour), plat{"linux-glibc-x86_64": c(85, 15)}, nil),
	}
	r := report(t, dataFS(runs, nil), nil)
	p := r.Platforms[0]
	if p.PassRate == nil || *p.PassRate != 0.875 || p.CILow != nil || !p.SmallSample {
		t.Errorf("two batches: %+v", p)
	}
}

// TestGateFixIsNotADownstreamRegression: when the gate's own pass rate
// rises (a fix), harder recipes reach the platform it gates and its rate
// falls: the trend says "population changed", no regression is named, and
// the gate is never ranked against the platform it gates.
func TestGateFixIsNotADownstreamRegression(t *testing.T) {
	var runs []string
	for i := 0; i < 40; i++ {
		gate, down := c(12, 8), c(11, 1)
		if i >= 20 {
			gate, down = c(18, 2), c(13, 5)
		}
		down.Skipped = 20 - down.Tested
		down.GatedBy = []string{"linux-debian-glibc-x86_64"}
		other := down
		runs = append(runs, runLine(fmt.Sprintf("b%02d", i), "homebrew", t0.Add(time.Duration(i)*time.Hour),
			plat{"linux-debian-glibc-x86_64": gate, "linux-alpine-musl-x86_64": down, "linux-rhel-glibc-x86_64": other}, nil))
	}
	r := report(t, dataFS(runs, nil), func(o *ReportOptions) { o.By = model.LevelFamily })
	for _, p := range r.Platforms {
		switch p.Platform {
		case "linux-debian-glibc-x86_64":
			if p.Trend == nil || !p.Trend.Significant || p.Trend.Direction != "better" || len(p.GatedBy) != 0 {
				t.Errorf("gate: %+v %+v", p.GatedBy, p.Trend)
			}
		case "linux-alpine-musl-x86_64":
			if len(p.GatedBy) != 1 || p.Yield == nil || !p.Trend.PopulationChanged || !strings.HasPrefix(p.Trend.Direction, "population changed") {
				t.Errorf("gated: %v yield %v trend %+v", p.GatedBy, p.Yield, p.Trend)
			}
		}
	}
	if reg := insights(r, KindRegression); len(reg) > 0 {
		t.Errorf("a gate's fix named a downstream regression: %+v", reg)
	}
	for _, in := range insights(r, KindWeakest) {
		for _, g := range in.Group {
			if g == "linux-debian-glibc-x86_64" {
				t.Errorf("the gate was ranked against what it gates: %s", in.Evidence)
			}
		}
	}
	// The detector, which speaks after every batch, agrees.
	for _, p := range r.Platforms {
		if p.Detector == nil {
			continue
		}
		for _, a := range p.Detector.Alarms {
			if len(p.GatedBy) > 0 && !a.PopulationChanged {
				t.Errorf("%s: the detector calls a gate's fix a regression: %+v", p.Platform, a)
			}
		}
	}
	if !strings.Contains(r.Verdicts.Regressions, "whose gate changed") {
		t.Errorf("verdict %q does not say the population changed", r.Verdicts.Regressions)
	}
}

// TestMixedBatchInfrastructureByEcosystem: an older mixed v2 batch that
// does not count infrastructure failures has them taken out of each
// ecosystem's cell from the failure records.
func TestMixedBatchInfrastructureByEcosystem(t *testing.T) {
	var runs, fails []string
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("m%d", i)
		r := model.BatchRun{SchemaVersion: 2, BatchID: id, Ecosystem: model.Mixed, Timestamp: t0.Add(time.Duration(i) * time.Hour),
			Ecosystems: map[string]int64{"npm": 10, "pypi": 10},
			Platforms:  map[string]model.Counts{"linux-musl-x86_64": {Tested: 20, Passed: 10, Failed: 10, SkippedKnown: true}},
			ByEcosystem: map[string]map[string]model.Counts{
				"npm":  {"linux-musl-x86_64": {Tested: 10, Passed: 5, Failed: 5, SkippedKnown: true}},
				"pypi": {"linux-musl-x86_64": {Tested: 10, Passed: 5, Failed: 5, SkippedKnown: true}},
			}}
		b, _ := json.Marshal(r)
		runs = append(runs, string(b))
		// Two of npm's five failures were the network's.
		for k := 0; k < 2; k++ {
			fails = append(fails, failLine(id, "npm", "linux-musl-x86_64", fmt.Sprintf("r%d", k), model.CatNetworkError))
		}
	}
	r := report(t, dataFS(runs, fails), nil)
	for _, c := range r.Matrix {
		want := map[string]int64{"npm": 32, "pypi": 40}[c.Ecosystem]
		if c.N != want {
			t.Errorf("%s on %s: n %d, want %d (infrastructure failures out)", c.Ecosystem, c.Platform, c.N, want)
		}
	}
}

// TestTsukuDetectorQuiet: on tsuku's history the detector raises no alarm
// at any level. The detector is causal, so the whole history's run holds
// every alarm a batch-by-batch replay would raise; the last ten batches are
// also replayed through the summary, as `record` sees them. Its records are
// job-level v1 counts of a few recipes, mostly in runs spanning several
// ecosystems: little can be compared within an ecosystem.
func TestTsukuDetectorQuiet(t *testing.T) {
	const dir = "../../shared/tsuku-data"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no tsuku data beside the repository")
	}
	if raceOn {
		t.Skip("statistical: run without -race (.ci/run does)")
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, by := range []model.Level{model.LevelFamily, model.LevelEnv, model.LevelJob, model.LevelOS} {
		o := DefaultReportOptions(now)
		o.By = by
		r, err := BuildReport(os.DirFS(dir), dir, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Platforms {
			if p.Detector != nil && len(p.Detector.Alarms) > 0 {
				t.Errorf("by %s: %s: alarms %+v", by, p.Platform, p.Detector.Alarms)
			}
		}
	}
	var runs []*model.BatchRun
	rd := reader.New(os.DirFS(dir), dir, reader.DefaultOptions)
	if err := rd.Metrics(func(b *model.BatchRun) { runs = append(runs, b) }); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Timestamp.Before(runs[j].Timestamp) })
	seen := map[string]bool{}
	for _, r := range runs[max(0, len(runs)-10):] {
		if seen[r.BatchID] {
			continue // v1 IDs repeat; a summary names the newest
		}
		seen[r.BatchID] = true
		o := DefaultSummaryOptions()
		o.BatchID = r.BatchID
		s, err := BuildSummary(os.DirFS(dir), dir, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range s.Warnings {
			if strings.HasPrefix(w.Title, "Regression") {
				t.Errorf("batch %s: %s: %s", r.BatchID, w.Title, w.Message)
			}
		}
	}
}
