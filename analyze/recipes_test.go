package analyze

import (
	"os"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/simulate"
)

// simulateRetests writes a history where recipes keep their outcomes
// between tests (simulate.Options.Retests) and reports on it at the
// family level.
func simulateRetests(t *testing.T, o simulate.Options) (*Report, simulate.Options) {
	t.Helper()
	dir := t.TempDir()
	o.Start = simulate.DefaultOptions.Start
	o.Retests = true
	last, err := simulate.Write(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	ro := DefaultReportOptions(last.Add(time.Hour))
	ro.By = model.LevelFamily
	rep, err := BuildReport(os.DirFS(dir), dir, ro)
	if err != nil {
		t.Fatal(err)
	}
	return rep, o
}

const changed = "linux-debian-glibc-arm64"

// TestFlakyFoundAsSimulated: in a stable history (no batch effect, no
// platform change) only flaky recipes can flip on one version, so every
// recipe reported flaky must be flaky in the simulation, and most flaky
// recipes tested often must be found.
func TestFlakyFoundAsSimulated(t *testing.T) {
	rep, o := simulateRetests(t, simulate.Options{Batches: 400, Seed: 11, Stable: true, Flaky: 0.04, FlakeRate: 0.4})
	if len(rep.Flaky) == 0 {
		t.Fatal("no flaky recipe found")
	}
	found := map[[2]string]bool{}
	for _, f := range rep.Flaky {
		eco, name := model.SplitPackageID(f.Recipe)
		found[[2]string{f.Recipe, f.Platform}] = true
		// Flaky pairs in this history are flaky throughout (t is ignored
		// without FlakyFrom).
		if !simulate.IsFlaky(o, eco, name, f.Platform, 0) {
			t.Errorf("%s on %s is reported flaky (%d passes, %d failures, %d retried, %d flips) but is not flaky in the simulation",
				f.Recipe, f.Platform, f.Passes, f.Failures, f.RetriedPasses, f.Flips)
		}
	}
	// Recall, roughly: 4% of the pairs flake at 40% a test, so with
	// popular recipes tested again and again many must show it.
	if len(found) < 30 {
		t.Errorf("only %d flaky pairs found", len(found))
	}
	for _, p := range rep.Platforms {
		if p.Flakes == nil || p.Flakes.Rate == nil {
			t.Errorf("%s has no flake rate", p.Platform)
		}
	}
	hit := len(found)
	t.Logf("%d flaky (recipe, platform) pairs found, all flaky in the simulation", hit)
}

// TestTransitionsAsSimulated: a platform that gets worse in the middle of an
// otherwise stable history makes recipes newly fail there, at the change;
// every newly failing transition of a non-flaky recipe on one version
// happens on that platform after the change (anything else would be a
// transition that did not happen).
func TestTransitionsAsSimulated(t *testing.T) {
	maxTransitions = 1 << 30 // every transition listed, the earliest too
	defer func() { maxTransitions = MaxTransitions }()
	rep, _ := simulateRetests(t, simulate.Options{Batches: 400, Seed: 12, Stable: true,
		Changes: []simulate.Change{{Platform: changed, At: 0.5, Drop: 0.2}}})
	var changeAt time.Time
	n := 0
	for _, tr := range rep.Transitions {
		if tr.Kind != NewlyFailing || tr.Flaky || tr.RecipeChanged {
			continue
		}
		if tr.Platform != changed {
			t.Errorf("%s newly failing on %s in %s with no version change and no flake: nothing changed there", tr.Recipe, tr.Platform, tr.BatchID)
			continue
		}
		n++
		if changeAt.IsZero() || tr.Timestamp.Before(changeAt) {
			changeAt = tr.Timestamp
		}
	}
	if n < 20 {
		t.Fatalf("only %d recipes newly failing on %s after a 20-point drop", n, changed)
	}
	// The first of them is at the change: half-way through the history.
	first, last := *rep.Window.First, *rep.Window.Last
	mid := first.Add(last.Sub(first) / 2)
	if d := changeAt.Sub(mid); d < -48*time.Hour || d > 48*time.Hour {
		t.Errorf("the first newly failing transition on %s is at %s, the change at about %s", changed, changeAt, mid)
	}
	t.Logf("%d recipes newly failing on %s from %s", n, changed, changeAt.Format(time.RFC3339))
}

// TestFlakyNotARegression: a platform where 30% of the recipes flake (at
// 60% a test) has no regression claimed and no detector alarm, its flaky
// recipes are found, and their results are really out of the trend's
// evidence (the trend counts fewer tests than with them in). A flake that
// starts mid-window is left out only once it is recognised: docs/METHODS.md.
func TestFlakyNotARegression(t *testing.T) {
	o := simulate.Options{Batches: 400, Seed: 13, Stable: true, Flaky: 0.01, FlakeRate: 0.6,
		FlakyFrom: []simulate.FlakyChange{{Platform: changed, At: 0, Share: 0.3}}}
	rep, _ := simulateRetests(t, o)
	for _, in := range rep.Insights {
		if in.Kind == KindRegression {
			t.Errorf("regression claimed: %s", in.Evidence)
		}
	}
	var mine, theirs *PlatformStat
	for i, p := range rep.Platforms {
		if p.Platform == changed {
			mine = &rep.Platforms[i]
			if p.Detector != nil && len(p.Detector.Alarms) > 0 {
				t.Errorf("detector alarm on %s: %+v", changed, p.Detector.Alarms)
			}
		}
	}
	if mine == nil || mine.Flakes == nil || mine.Flakes.FlakyRecipes < 50 || mine.Trend == nil {
		t.Fatalf("%s: too few flaky recipes found or no trend: %+v", changed, mine)
	}
	excludeFlaky = false
	defer func() { excludeFlaky = true }()
	with, _ := simulateRetests(t, o)
	for i, p := range with.Platforms {
		if p.Platform == changed {
			theirs = &with.Platforms[i]
		}
	}
	if theirs == nil || theirs.Trend == nil {
		t.Fatal("no trend with flaky recipes counted")
	}
	if mine.Trend.CurrentTested >= theirs.Trend.CurrentTested || mine.Trend.PreviousTested >= theirs.Trend.PreviousTested {
		t.Errorf("flaky recipes' results are not out of the trend: %d+%d tests without them, %d+%d with",
			mine.Trend.PreviousTested, mine.Trend.CurrentTested, theirs.Trend.PreviousTested, theirs.Trend.CurrentTested)
	}
	t.Logf("%d flaky recipes on %s (flake rate %.1f%%) kept out of the evidence: trend over %d+%d tests instead of %d+%d",
		mine.Flakes.FlakyRecipes, changed, 100**mine.Flakes.Rate, mine.Trend.PreviousTested, mine.Trend.CurrentTested, theirs.Trend.PreviousTested, theirs.Trend.CurrentTested)
}
