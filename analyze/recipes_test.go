package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unsafe"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/record"
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

// TestRecipeClaimsCalibration: on histories with nothing to find (every
// platform the same pass probability, recipes re-tested, batch effects of
// a given intra-batch correlation, no flaky recipe), how often does the
// report claim a weakest platform on shared recipes, a comparable pair
// that differs (q <= 0.05), a capability gap closed (with --last 20), or
// a flaky recipe kept out of the evidence? 40 histories per setting, 8
// under -race, 200 with -calibration-long; docs/METHODS.md quotes the long
// run.
func TestRecipeClaimsCalibration(t *testing.T) {
	reps := 40
	switch {
	case *calibrationLong:
		reps = 200
	case raceOn:
		reps = 8
	}
	for _, icc := range []float64{0, 0.05, 0.2} {
		var weakEnv, weakFam, pairQ, gapClosed, retried, flips int
		for rep := 0; rep < reps; rep++ {
			dir := t.TempDir()
			o := simulate.Options{Batches: 120, Seed: uint64(5000 + 100*rep + int(icc*100)), Start: simulate.DefaultOptions.Start,
				Retests: true, Uniform: true, ICC: icc, Shared: 0.5}
			last, err := simulate.Write(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			now := last.Add(time.Hour)
			for _, by := range []model.Level{model.LevelEnv, model.LevelFamily} {
				ro := DefaultReportOptions(now)
				ro.By = by
				r, err := BuildReport(os.DirFS(dir), dir, ro)
				if err != nil {
					t.Fatal(err)
				}
				for _, in := range r.Insights {
					if in.Kind == KindWeakest && strings.HasPrefix(in.Evidence, "on the recipes it shares") {
						if by == model.LevelEnv {
							weakEnv++
						} else {
							weakFam++
						}
						break
					}
				}
				if by == model.LevelFamily {
					for _, pc := range r.Paired {
						if pc.Q != nil && *pc.Q <= 0.05 {
							pairQ++
							break
						}
					}
					for _, f := range r.Flaky {
						if f.Excluded {
							retried++
						} else {
							flips++
						}
					}
				}
			}
			ro := DefaultReportOptions(now)
			ro.By, ro.Last = model.LevelFamily, 20
			r, err := BuildReport(os.DirFS(dir), dir, ro)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range r.Insights {
				if in.Kind == KindGapClosed {
					gapClosed++
					break
				}
			}
		}
		pct := func(n int) float64 { return 100 * float64(n) / float64(reps) }
		t.Logf("ICC %.2f, %d histories: weakest on shared recipes %.1f%% (env) %.1f%% (family); a comparable pair at q <= 0.05 %.1f%%; gap closed (--last 20) %.1f%%; flaky kept out %d, flips only %.1f per history",
			icc, reps, pct(weakEnv), pct(weakFam), pct(pairQ), pct(gapClosed), retried, float64(flips)/float64(reps))
		// Bounds a correct 5% method passes at these sizes with room.
		limit := func(what string, n int, max float64) {
			if pct(n) > max {
				t.Errorf("ICC %.2f: %s in %.1f%% of %d null histories (at most %.0f%% expected)", icc, what, pct(n), reps, max)
			}
		}
		limit("weakest on shared recipes (env)", weakEnv, 10)
		limit("weakest on shared recipes (family)", weakFam, 10)
		limit("a comparable pair at q <= 0.05", pairQ, 20)
		limit("a capability gap closed", gapClosed, 15)
		if retried > 0 {
			t.Errorf("ICC %.2f: %d recipes kept out as flaky where none flakes", icc, retried)
		}
	}
}

// TestPairStateSize keeps the per-pair state small: a registry's recipes x
// platforms each hold one.
func TestPairStateSize(t *testing.T) {
	if n := unsafe.Sizeof(pairHot{}); n != 16 {
		t.Errorf("a pair's first part is %d bytes, not 16", n)
	}
	if n := unsafe.Sizeof(pairCold{}); n != 20 {
		t.Errorf("a pair's second part is %d bytes, not 20", n)
	}
}

// TestSparsePairs: the pairs of platforms past the first maxDense are
// kept in a map (a history naming very many platforms stays within memory
// per recipe), and the report is the same whichever way a pair is kept.
func TestSparsePairs(t *testing.T) {
	dir := t.TempDir()
	so := simulate.DefaultOptions
	so.Batches, so.Seed = 40, 11
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	o := DefaultReportOptions(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	o.By = model.LevelFamily
	report := func() string {
		rep, err := BuildReport(os.DirFS(dir), dir, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Transitions) == 0 || len(rep.Paired) == 0 {
			t.Fatalf("%d transitions, %d paired comparisons: the recipe histories were not read", len(rep.Transitions), len(rep.Paired))
		}
		b, _ := json.Marshal(rep)
		return string(b)
	}
	dense := report()
	defer func(m uint32) { maxDense = m }(maxDense)
	for _, m := range []uint32{0, 1, 3} {
		maxDense = m
		if got := report(); got != dense {
			t.Fatalf("with %d platforms laid out densely the report differs:\n%s\n%s", m, got, dense)
		}
	}
	// Many platforms: the dense layout stays maxDense wide.
	maxDense = 4
	ra := newRecipeAgg(0, 0)
	for p := range 50 {
		for r := range 30 {
			ra.pair(fmt.Sprintf("npm:r%d", r), fmt.Sprintf("linux-p%d", p))
		}
	}
	if ra.stride > 4 || len(ra.pairsOf) > 30*4 || len(ra.morePairs) != 30*46 || ra.states.len() != 30*50 {
		t.Fatalf("stride %d, %d dense slots, %d pairs in the map, %d pairs", ra.stride, len(ra.pairsOf), len(ra.morePairs), ra.states.len())
	}
	for p := range 50 {
		for r := range 30 {
			rec, plat := fmt.Sprintf("npm:r%d", r), fmt.Sprintf("linux-p%d", p)
			pair, ok := ra.lookup(rec, plat)
			if !ok || ra.recipeOf(pair) != rec || ra.platOf(pair) != plat {
				t.Fatalf("%s on %s: pair %d, %v (%s, %s)", rec, plat, pair, ok, ra.recipeOf(pair), ra.platOf(pair))
			}
		}
	}
}

// TestFinePlatformsBound: the paired comparisons index the first 255
// platforms a window names and count the rest, which the report states.
func TestFinePlatformsBound(t *testing.T) {
	ra := newRecipeAgg(0, 1)
	ra.fine.byBatch = newEntryLog(false)
	ro := newRoller(model.LevelFamily, nil)
	for rec := range 2 {
		o := &model.Outcomes{SchemaVersion: model.SchemaVersion, BatchID: fmt.Sprint("b", rec)}
		for i := range 200 {
			o.Platforms = append(o.Platforms, fmt.Sprintf("linux-r%dp%d", rec, i))
		}
		o.Recipes = []model.RecipeOutcome{{PackageID: "npm:a", Codes: strings.Repeat("P", 200)}}
		ra.fine.add(ra, ro, nil, o, rec, []uint32{noRecipe})
	}
	if len(ra.fine.plats) != 255 || len(ra.fine.dropped) != 145 {
		t.Fatalf("%d platforms indexed, %d left out; want 255 and 145", len(ra.fine.plats), len(ra.fine.dropped))
	}
	if n := pairedNote(145); !strings.Contains(n, "first 255 platforms") || !strings.Contains(n, "145 more") {
		t.Fatal(n)
	}
}

// TestFinePlatformsNote: a report whose window names more platforms than
// the paired comparisons take says how many they leave out.
func TestFinePlatformsNote(t *testing.T) {
	dir := t.TempDir()
	for b := range 2 {
		ts := time.Date(2029, 1, 1+b, 0, 0, 0, 0, time.UTC)
		run := &model.BatchRun{SchemaVersion: model.SchemaVersion, Ecosystem: "npm", Total: 1, Timestamp: ts, Platforms: map[string]model.Counts{}}
		out := &model.Outcomes{SchemaVersion: model.SchemaVersion, Timestamp: ts,
			Recipes: []model.RecipeOutcome{{PackageID: "npm:a", Codes: strings.Repeat("P", 200)}}}
		for i := range 200 {
			p := fmt.Sprintf("linux-r%dp%d", b, i)
			run.Platforms[p] = model.Counts{Tested: 1, Passed: 1, SkippedKnown: true}
			out.Platforms = append(out.Platforms, p)
		}
		if _, err := record.Append(context.Background(), dir, run, nil, out, record.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := BuildReport(os.DirFS(dir), dir, DefaultReportOptions(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if want := pairedNote(145); !strings.Contains(rep.Outcomes.Note, want) {
		t.Fatalf("outcome note %q, want it to say %q", rep.Outcomes.Note, want)
	}
}

// TestFineRecipesBound checks that the recipes past those a paired
// comparison's entry numbers are left out of it, and the report says how
// many, rather than numbering them as others.
func TestFineRecipesBound(t *testing.T) {
	defer func(n uint32) { maxFineRecipes = n }(maxFineRecipes)
	maxFineRecipes = 4
	dir := t.TempDir()
	plats := []string{"linux-debian-glibc-x86_64", "linux-alpine-musl-x86_64"}
	for b := range 2 {
		ts := time.Date(2029, 1, 1+b, 0, 0, 0, 0, time.UTC)
		run := &model.BatchRun{SchemaVersion: model.SchemaVersion, Ecosystem: "npm", Total: 5, Timestamp: ts, Platforms: map[string]model.Counts{}}
		out := &model.Outcomes{SchemaVersion: model.SchemaVersion, Timestamp: ts, Platforms: plats,
			Categories: []string{"install_failed"}}
		for r := range 5 {
			// Recipes 3b..3b+4: the second batch brings two the first did
			// not have, the last two past the bound.
			id := fmt.Sprintf("npm:r%d", 3*b+r)
			code := "P" + string(model.FailureCodes[0]) // passes on glibc, fails on musl
			out.Recipes = append(out.Recipes, model.RecipeOutcome{PackageID: id, Codes: code})
		}
		run.Platforms[plats[0]] = model.Counts{Tested: 5, Passed: 5, SkippedKnown: true}
		run.Platforms[plats[1]] = model.Counts{Tested: 5, Failed: 5, SkippedKnown: true}
		if _, err := record.Append(context.Background(), dir, run, nil, out, record.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := BuildReport(os.DirFS(dir), dir, DefaultReportOptions(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	// Recipes r0..r7, numbered in that order: r4..r7 are past the bound.
	if want := recipesNote(4); !strings.Contains(rep.Outcomes.Note, want) {
		t.Fatalf("outcome note %q, want it to say %q", rep.Outcomes.Note, want)
	}
	if len(rep.Paired) != 1 || rep.Paired[0].Recipes != 4 {
		t.Fatalf("paired comparisons %+v, want one over 4 recipes", rep.Paired)
	}
}

// TestFlakyOutOnceAMember: at a rolled-up level a platform's counts sum
// its members' tests, so a flaky recipe's results are kept out of the
// trend once for every member that tested it, not once for the recipe.
// Recipe x passes on a retry on both glibc x86_64 families of the one
// environment, recipe y passes on both, in each of two batches: the
// environment counts 4 tests a batch, of which x's 2 are kept out.
func TestFlakyOutOnceAMember(t *testing.T) {
	fams := []string{"linux-debian-glibc-x86_64", "linux-rhel-glibc-x86_64"}
	var runs, outcomes []string
	for i, id := range []string{"b1", "b2"} {
		ts := t0.Add(time.Duration(i) * time.Hour)
		p := plat{}
		for _, f := range fams {
			p[f] = model.Counts{Tested: 2, Passed: 2}
		}
		runs = append(runs, runLine(id, "npm", ts, p, nil))
		outcomes = append(outcomes, fmt.Sprintf(`{"schema_version":2,"batch_id":%q,"timestamp":%q,"platforms":[%q,%q],"categories":[],"recipes":{"npm:x":"pp","npm:y":"PP"}}`,
			id, ts.Format(time.RFC3339), fams[0], fams[1]))
	}
	fsys := dataFS(runs, nil)
	fsys["outcomes/outcomes.jsonl"] = &fstest.MapFile{Data: []byte(strings.Join(outcomes, "\n") + "\n")}
	for _, tc := range []struct {
		by   model.Level
		plat string
		n    int64 // tests a batch, with x's kept out
	}{
		{model.LevelFamily, fams[0], 1},
		{model.LevelEnv, "linux-glibc-x86_64", 2},
	} {
		r := report(t, fsys, func(o *ReportOptions) { o.By = tc.by })
		var p *PlatformStat
		for i := range r.Platforms {
			if r.Platforms[i].Platform == tc.plat {
				p = &r.Platforms[i]
			}
		}
		if p == nil || p.Trend == nil {
			t.Fatalf("%s: no trend on %s: %+v", tc.by, tc.plat, r.Platforms)
		}
		if p.Trend.PreviousTested != tc.n || p.Trend.CurrentTested != tc.n || p.Trend.PreviousPassed != tc.n || p.Trend.CurrentPassed != tc.n {
			t.Errorf("%s: trend on %s rests on %d+%d tests (%d+%d passed), want %d each", tc.by, tc.plat,
				p.Trend.PreviousTested, p.Trend.CurrentTested, p.Trend.PreviousPassed, p.Trend.CurrentPassed, tc.n)
		}
	}
}

// TestPackEntries: entries packed for the flaky exclusion read back the
// same, with their member counts, whether those take a second word or not.
func TestPackEntries(t *testing.T) {
	in := []ocEntry{
		{pair: 0, kind: ocPass, n: 1, np: 1},
		{pair: 7, kind: ocFail, n: 1, np: 0},
		{pair: 1<<29 - 1, kind: ocRetried, n: 3, np: 2},
		{pair: 12, kind: ocInfra},
		{pair: 13, kind: ocFail, n: 256, np: 255},
		{pair: 14, kind: ocPass, n: 0, np: 0},
	}
	var es []uint32
	for _, e := range in {
		es = pack(es, e)
	}
	if len(es) != len(in)+3 {
		t.Fatalf("%d words for %d entries, 3 of them with member counts", len(es), len(in))
	}
	var out []ocEntry
	for i := 0; i < len(es); {
		var e ocEntry
		e, i = unpack(es, i)
		out = append(out, e)
	}
	if fmt.Sprint(out) != fmt.Sprint(in) {
		t.Fatalf("read back %v, want %v", out, in)
	}
}

// TestInfraDisagreesStaysBounded: a batch run that counts as an
// infrastructure failure what its outcome record codes as a recipe
// failure (the outcome records' check compares tested, passed, failed and
// skipped only) leaves, once infrastructure failures and a flaky recipe's
// results are taken out, no observation with more passes than tests: the
// report's rates stay numbers and it can be written as JSON.
func TestInfraDisagreesStaysBounded(t *testing.T) {
	fams := []string{"linux-debian-glibc-x86_64", "linux-rhel-glibc-x86_64"}
	one, zero := int64(1), int64(0)
	var runs, outcomes []string
	for i := range 40 {
		id := fmt.Sprintf("b%02d", i)
		ts := t0.Add(time.Duration(i) * time.Hour)
		x := "p0"
		pB := model.Counts{Tested: 2, Passed: 1, Failed: 1, Infrastructure: &one}
		if i%2 == 1 {
			x = "pp"
			pB = model.Counts{Tested: 2, Passed: 2, Infrastructure: &zero}
		}
		runs = append(runs, runLine(id, "npm", ts, plat{fams[0]: {Tested: 2, Passed: 2, Infrastructure: &zero}, fams[1]: pB}, nil))
		outcomes = append(outcomes, fmt.Sprintf(`{"schema_version":2,"batch_id":%q,"timestamp":%q,"platforms":[%q,%q],"categories":["build_failed"],"recipes":{"npm:x":%q,"npm:y":"PP"}}`,
			id, ts.Format(time.RFC3339), fams[0], fams[1], x))
	}
	fsys := dataFS(runs, nil)
	fsys["outcomes/outcomes.jsonl"] = &fstest.MapFile{Data: []byte(strings.Join(outcomes, "\n") + "\n")}
	for _, by := range []model.Level{model.LevelFamily, model.LevelEnv} {
		r := report(t, fsys, func(o *ReportOptions) { o.By = by })
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("%s: %v", by, err)
		}
		for _, p := range r.Platforms {
			if tr := p.Trend; tr != nil && (tr.PreviousPassed > tr.PreviousTested || tr.CurrentPassed > tr.CurrentTested) {
				t.Errorf("%s %s: %d of %d and %d of %d passed", by, p.Platform, tr.PreviousPassed, tr.PreviousTested, tr.CurrentPassed, tr.CurrentTested)
			}
		}
	}
}

// TestTooManyPairs: a history naming more recipe x platform pairs than a
// report can keep fails the report, rather than mixing pairs up.
func TestTooManyPairs(t *testing.T) {
	fams := []string{"linux-debian-glibc-x86_64", "linux-rhel-glibc-x86_64"}
	runs := []string{runLine("b1", "npm", t0, plat{fams[0]: {Tested: 2, Passed: 2}, fams[1]: {Tested: 2, Passed: 2}}, nil)}
	out := fmt.Sprintf(`{"schema_version":2,"batch_id":"b1","timestamp":%q,"platforms":[%q,%q],"categories":[],"recipes":{"npm:x":"PP","npm:y":"PP"}}`,
		t0.Format(time.RFC3339), fams[0], fams[1])
	fsys := dataFS(runs, nil)
	fsys["outcomes/outcomes.jsonl"] = &fstest.MapFile{Data: []byte(out + "\n")}
	defer func(n uint32) { maxPairs = n }(maxPairs)
	for _, n := range []uint32{4, 3} {
		maxPairs = n
		o := DefaultReportOptions(t0.AddDate(0, 0, 1))
		o.By = model.LevelFamily
		_, err := BuildReport(fsys, "test", o)
		if (err != nil) != (n < 4) {
			t.Errorf("at most %d pairs, 4 named: error %v", n, err)
		}
	}
}

// TestPairStoreRoundTrip: every field of a pair's state reads back as set,
// whichever of the store's two parts holds it, and a new pair reads back
// blank.
func TestPairStoreRoundTrip(t *testing.T) {
	var s pairStore
	s.add()
	if got := s.get(0); got != (pairState{lastPos: -1, sincePos: -1, lastFlip: -1}) {
		t.Fatalf("a new pair reads %+v", got)
	}
	states := []pairState{
		{lastPos: 7, sincePos: -1, lastFlip: -1, lastVer: 3, passes: 9, lastKind: ocPass, flags: retriedPair},
		{lastPos: 8, sincePos: 5, lastFlip: 6, lastVer: 4, failVer: 2, passes: 1, fails: 2, retried: 3, flips: 4, lastCat: 5, lastKind: ocFail, flags: flipUp | flipDown | flakyPair},
		{lastPos: 9, sincePos: -1, lastFlip: -1, lastVer: 4, failVer: 2, lastCat: 5, lastKind: ocRetried},
	}
	for i, st := range states {
		s.add()
		s.set(i+1, st)
	}
	for i, st := range states {
		if got := s.get(i + 1); got != st {
			t.Errorf("pair %d reads %+v, set %+v", i+1, got, st)
		}
		if s.flags(i+1) != st.flags {
			t.Errorf("pair %d flags %v, set %v", i+1, s.flags(i+1), st.flags)
		}
	}
	// Back to blank values once the second part is made: it is kept.
	s.set(2, pairState{lastPos: 1, sincePos: -1, lastFlip: -1})
	if got := s.get(2); got != (pairState{lastPos: 1, sincePos: -1, lastFlip: -1}) {
		t.Errorf("pair 2 reads %+v", got)
	}
	if s.cold.len() != 2 {
		t.Errorf("%d second parts, want 2 (pairs 2 and 3)", s.cold.len())
	}
}
