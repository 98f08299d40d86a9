package analyze

import (
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/simulate"
)

// TestDetectorSequential: the detector's past does not change as batches
// are added (docs/METHODS.md, "Sequential"). On a history with a
// regression, a gate's fix and an onset of flaky recipes (retried passes
// that arrive after earlier alarms), the report ending at each of many
// batches raises exactly the alarms the whole history's report raised up
// to that batch (same start, statistic, rates and verdict); a `--last 20`
// report shows the whole history's alarms in its window.
func TestDetectorSequential(t *testing.T) {
	dir := t.TempDir()
	o := simulate.Options{Batches: 240, Seed: 17, Start: simulate.DefaultOptions.Start, ICC: 0.02, Retests: true,
		Shared: 0.9, Flaky: 0.01, FlakeRate: 0.6,
		Changes: []simulate.Change{{Platform: "linux-rhel-glibc-arm64", At: 0.3, Drop: 0.15},
			{Platform: "linux-debian-glibc-x86_64", At: 0.5, Drop: -0.25}},
		FlakyFrom: []simulate.FlakyChange{{Platform: changed, At: 0.6, Share: 0.3}}}
	last, err := simulate.Write(dir, o)
	if err != nil {
		t.Fatal(err)
	}
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
