package render

import (
	"fmt"
	"strings"

	"github.com/batchsli/batchsli/analyze"
)

// MaxRecipeRows bounds each recipe-history table in text and markdown; the
// JSON form holds every row.
const MaxRecipeRows = 15

// recipeSection is the report's "Recipe histories" section, as headed
// tables: each renderer lays them out in its own way.
type recipeSection struct {
	note   string
	tables []recipeTable
}

type recipeTable struct {
	title  string
	header []string
	rows   [][]string
	more   int    // rows left out
	after  string // a line under the table
	empty  string // said instead of an empty table
}

var flakeHeader = []string{"PLATFORM", "TESTS", "FLAKY TESTS", "FLAKE RATE", "FLAKY RECIPES", "NEWLY FAILING", "NEWLY FIXED", "STILL FAILING"}

func recipeSections(r *analyze.Report, esc func(string) string) recipeSection {
	var s recipeSection
	s.note = r.Outcomes.Note
	if r.Outcomes.WithOutcomes == 0 {
		return s
	}
	ft := recipeTable{title: "Flakes and transitions", header: flakeHeader,
		after: "A flaky recipe passed only after a retry, or flipped both ways on one version across batches. Those with a retried pass (evidence within one run) are left out of trends and the regression detector; flips across batches, which batch-to-batch variation can also cause, are shown only."}
	for _, p := range r.Platforms {
		f := p.Flakes
		if f == nil {
			continue
		}
		ft.rows = append(ft.rows, []string{esc(p.Platform), fmt.Sprint(f.Tests), fmt.Sprint(f.FlakyTests), ratePtr(f.Rate),
			fmt.Sprint(f.FlakyRecipes), fmt.Sprint(f.NewlyFailing), fmt.Sprint(f.NewlyFixed), fmt.Sprint(f.StillFailing)})
	}
	s.tables = append(s.tables, ft)

	tt := recipeTable{title: "Latest changes (newly failing, newly fixed)", header: []string{"BATCH", "RECIPE", "PLATFORM", "CHANGE", "BEFORE", "NOW"},
		empty: "no recipe changed outcome in the window"}
	var changes []analyze.Transition
	for _, t := range r.Transitions {
		if t.Kind != analyze.StillFailing {
			changes = append(changes, t)
		}
	}
	for i := len(changes) - 1; i >= 0; i-- {
		if len(tt.rows) == MaxRecipeRows {
			tt.more = i + 1
			break
		}
		t := changes[i]
		tt.rows = append(tt.rows, transitionCells(t, esc))
	}
	s.tables = append(s.tables, tt)

	fl := recipeTable{title: "Flaky recipes", header: []string{"RECIPE (VERSION)", "PLATFORM", "PASSES", "FAILURES", "RETRIED", "FLIPS", "LAST FLIP", "EVIDENCE"},
		empty: "none"}
	for i, f := range r.Flaky {
		if i == MaxRecipeRows {
			fl.more = len(r.Flaky) - i
			break
		}
		ver := f.Version
		if ver == "" {
			ver = "-"
		}
		last := f.LastFlip
		if last == "" {
			last = "-"
		}
		fl.rows = append(fl.rows, []string{esc(f.Recipe) + " (" + esc(ver) + ")", esc(f.Platform), fmt.Sprint(f.Passes), fmt.Sprint(f.Failures),
			fmt.Sprint(f.RetriedPasses), fmt.Sprint(f.Flips), esc(last), flakeEvidence(f)})
	}
	s.tables = append(s.tables, fl)

	pt := recipeTable{title: "Paired platform comparisons (recipes both tested, batches as clusters)",
		header: []string{"A", "B", "SHARED RECIPES", "ONLY A PASSED", "ONLY B PASSED", "MCNEMAR P", "BATCHES", "CLUSTERED P", "Q"},
		empty:  "no two comparable platforms differ significantly (q <= 0.05) on the recipes they share"}
	comparable, gated := 0, 0
	for _, pc := range r.Paired {
		if !pc.Comparable {
			gated++
			continue
		}
		comparable++
		if pc.Q == nil || *pc.Q > r.Inference.Q {
			continue
		}
		if len(pt.rows) == MaxRecipeRows {
			pt.more++
			continue
		}
		pt.rows = append(pt.rows, []string{esc(pc.A), esc(pc.B), fmt.Sprint(pc.Recipes), fmt.Sprint(pc.OnlyAPassed), fmt.Sprint(pc.OnlyBPassed),
			pval(*pc.P), fmt.Sprint(pc.Batches), pval(*pc.PClustered), pval(*pc.Q)})
	}
	pt.after = fmt.Sprintf("%d platform pairs compared, at the level the records carry, on the recipes both tested (one result pair per recipe, its latest shared batch); %d pairs not compared because one platform gates the other. McNemar's exact p treats recipes as independent; the q-values, which claims need, come from the clustered p (batches as clusters).", comparable, gated)
	s.tables = append(s.tables, pt)
	return s
}

func transitionCells(t analyze.Transition, esc func(string) string) []string {
	before, now := "pass", "pass"
	switch t.Kind {
	case analyze.NewlyFailing:
		now = t.Category
	case analyze.NewlyFixed:
		before = t.PreviousCategory
	case analyze.StillFailing:
		before, now = t.PreviousCategory, t.Category
	}
	change := strings.ReplaceAll(t.Kind, "_", " ")
	if t.Kind == analyze.StillFailing && t.Since != "" {
		change += " since " + t.Since
	}
	if t.RecipeChanged {
		change += fmt.Sprintf(" (recipe %s -> %s)", t.PreviousVersion, t.Version)
	}
	if t.Flaky {
		change += " (flaky)"
	}
	return []string{esc(t.BatchID), esc(t.Recipe), esc(t.Platform), esc(change), esc(before) + " (" + esc(t.PreviousBatchID) + ")", esc(now)}
}

// pval shows a p- or q-value; below double precision's reach it says so.
func pval(p float64) string {
	if p < 1e-16 {
		return "<1e-16"
	}
	return fmt.Sprintf("%.2g", p)
}

func flakeEvidence(f analyze.FlakyRecipe) string {
	if f.Excluded {
		return "retried pass (left out of trends)"
	}
	return "flips across batches (shown only)"
}
