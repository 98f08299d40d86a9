package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/simulate"
)

// eventfulHistory writes a 240-batch history with a regression, a gate's
// fix and an onset of flaky recipes, and returns its directory and its
// last batch's time.
func eventfulHistory(t *testing.T, seed uint64) (string, time.Time) {
	t.Helper()
	dir := t.TempDir()
	o := simulate.Options{Batches: 240, Seed: seed, Start: simulate.DefaultOptions.Start, ICC: 0.02, Retests: true,
		Shared: 0.9, Flaky: 0.01, FlakeRate: 0.6,
		Changes: []simulate.Change{{Platform: "linux-rhel-glibc-arm64", At: 0.3, Drop: 0.15},
			{Platform: "linux-debian-glibc-x86_64", At: 0.5, Drop: -0.25}},
		FlakyFrom: []simulate.FlakyChange{{Platform: changed, At: 0.6, Share: 0.3}}}
	last, err := simulate.Write(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return dir, last
}

// TestDetectorSequential: the detector's past does not change as batches
// are added (docs/METHODS.md, "Sequential"). On a history with a
// regression, a gate's fix and an onset of flaky recipes (retried passes
// that arrive after earlier alarms), the report ending at each of many
// batches raises exactly the alarms the whole history's report raised up
// to that batch (same start, statistic, rates and verdict); a `--last 20`
// report shows the whole history's alarms in its window.
func TestDetectorSequential(t *testing.T) {
	dir, last := eventfulHistory(t, 17)
	var times []time.Time
	if err := reader.New(os.DirFS(dir), dir, reader.Options{}).Metrics(func(b *model.BatchRun) { times = append(times, b.Timestamp) }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	report := func(until time.Time, lastN int) map[string][]DetectorAlarm {
		ro := DefaultReportOptions(until.Add(time.Hour))
		ro.By, ro.Until, ro.Last = model.LevelFamily, until, lastN
		rep, err := BuildReport(os.DirFS(dir), dir, ro)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]DetectorAlarm{}
		for _, p := range rep.Platforms {
			if p.Detector != nil {
				out[p.Platform] = p.Detector.Alarms
			}
		}
		return out
	}
	whole := report(last, 0)
	n, popChanged := 0, 0
	for _, as := range whole {
		n += len(as)
		for _, a := range as {
			if a.PopulationChanged {
				popChanged++
			}
		}
	}
	// The history must hold what the property is about.
	if n < 3 || popChanged == 0 || len(whole["linux-rhel-glibc-arm64"]) == 0 {
		t.Fatalf("too few alarms to test: %d, %d population changes: %+v", n, popChanged, whole)
	}
	upTo := func(as []DetectorAlarm, from, until time.Time) []DetectorAlarm {
		out := []DetectorAlarm{}
		for _, a := range as {
			if !a.AtTime.After(until) && !a.AtTime.Before(from) {
				out = append(out, a)
			}
		}
		return out
	}
	checked := 0
	for k := 40; k < len(times); k += 25 {
		cut := report(times[k], 0)
		for plat, as := range whole {
			want := upTo(as, time.Time{}, times[k])
			got := cut[plat]
			if got == nil {
				got = []DetectorAlarm{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("report ending at batch %d, %s: alarms\n%+v\nthe whole history's up to it\n%+v", k, plat, got, want)
			}
			checked += len(want)
		}
	}
	if checked == 0 {
		t.Fatal("no alarm fell before a cut")
	}
	recent := report(last, 20)
	from := times[len(times)-20]
	for plat, as := range whole {
		want, got := upTo(as, from, last), recent[plat]
		if got == nil {
			got = []DetectorAlarm{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("--last 20, %s: alarms %+v, the whole history's in the window %+v", plat, got, want)
		}
	}
}

// TestGateChangedBeforeAlarm: a platform gated by one platform, then by
// another, whose new gate gets better: harder recipes reach it, its rate
// falls, its yield does not. Its alarms are population changes, judged by
// the gates of the alarm's own batches (the intersection over the whole
// history is empty, and judged the platform ungated: 20 regressions in 20
// histories before).
func TestGateChangedBeforeAlarm(t *testing.T) {
	const g1, g2, p = "linux-debian-glibc-x86_64", "linux-rhel-glibc-x86_64", "linux-alpine-musl-x86_64"
	alarms := 0
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		bin := func(n int64, q float64) int64 {
			k := int64(0)
			for range n {
				if rng.Float64() < q {
					k++
				}
			}
			return k
		}
		var runs []string
		for i := range 120 {
			const n = 20
			a := bin(n, 0.8)
			bq := 0.8
			if i >= 90 {
				bq = 0.95 // the new gate's fix
			}
			b := bin(n, bq)
			gate, name := a, g1
			if i >= 60 {
				gate, name = b, g2
			}
			// Recipes past the gate reach p: the 16 easiest pass there at
			// 0.95, those the fix newly admits fail.
			passed := bin(min(gate, 16), 0.95)
			pc := model.Counts{Tested: gate, Passed: passed, Failed: gate - passed, Skipped: n - gate, SkippedKnown: true, GatedBy: []string{name}}
			runs = append(runs, runLine(fmt.Sprintf("b%03d", i), "npm", t0.Add(time.Duration(i)*4*time.Hour),
				plat{g1: c(a, n-a), g2: c(b, n-b), p: pc}, nil))
		}
		for _, last := range []int{0, 40} {
			r := report(t, dataFS(runs, nil), func(o *ReportOptions) {
				o.By, o.Last, o.Now = model.LevelFamily, last, t0.AddDate(0, 0, 30)
			})
			for _, pl := range r.Platforms {
				if pl.Platform != p || pl.Detector == nil {
					continue
				}
				for _, a := range pl.Detector.Alarms {
					alarms++
					if !a.PopulationChanged {
						t.Errorf("seed %d, --last %d: a regression at %s: %+v", seed, last, a.At, a)
					}
				}
			}
		}
	}
	if alarms < 30 {
		t.Fatalf("only %d alarms in 40 reports: the test tests too little", alarms)
	}
}

// TestDetectorBlocks: the detectors read the history a block of batches
// at a time (detectorBlock); the report is the same, byte for byte,
// whatever the block's size, on a history with a regression, a gate's fix
// and an onset of flaky recipes, at the family and environment levels.
func TestDetectorBlocks(t *testing.T) {
	dir, last := eventfulHistory(t, 19)
	defer func(b int) { detectorBlock = b }(detectorBlock)
	for _, by := range []model.Level{model.LevelFamily, model.LevelEnv} {
		var want []byte
		alarms := 0
		for _, block := range []int{1 << 30, 1, 7, 100} {
			detectorBlock = block
			ro := DefaultReportOptions(last.Add(time.Hour))
			ro.By = by
			rep, err := BuildReport(os.DirFS(dir), dir, ro)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = got
				for _, p := range rep.Platforms {
					if p.Detector != nil {
						alarms += len(p.Detector.Alarms)
					}
				}
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: blocks of %d batches give another report", by, block)
			}
		}
		if alarms == 0 {
			t.Errorf("%s: no alarm to compare", by)
		}
	}
}
