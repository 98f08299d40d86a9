package analyze

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"time"

	"github.com/batchsli/batchsli/model"
)

// SiteWindow is a window the static site pre-renders beside its main one:
// the last Last batches, or the last Days days, up to the newest batch of
// the main window.
type SiteWindow struct {
	Slug, Title string
	Last, Days  int
}

// SiteWindows are the windows every site has.
var SiteWindows = []SiteWindow{
	{Slug: "last-10", Title: "Last 10 batches", Last: 10},
	{Slug: "last-50", Title: "Last 50 batches", Last: 50},
	{Slug: "7-days", Title: "Last 7 days", Days: 7},
	{Slug: "30-days", Title: "Last 30 days", Days: 30},
}

// SiteOptions select what the site shows; every bound keeps its size
// bounded whatever the history's.
type SiteOptions struct {
	// Report is the main window's report (filters, level, clock).
	Report ReportOptions
	// Weeks is how many calendar weeks the trend charts and the budget
	// history cover, ending with the main window's last.
	Weeks int
	// MaxRecipes is the most recipe pages; MaxListed the most failing
	// recipes listed per platform; MaxRecipeBatches the most batches a
	// recipe page lists (its newest).
	MaxRecipes, MaxListed, MaxRecipeBatches int
	// Batches is how many of the main window's newest batches get a page.
	Batches int
	// MaxExcerpt bounds each failure message kept, in bytes.
	MaxExcerpt int
}

// DefaultSiteOptions are the site's bounds around the report options o.
func DefaultSiteOptions(o ReportOptions) SiteOptions {
	return SiteOptions{Report: o, Weeks: 12, MaxRecipes: 1000, MaxListed: 2000, MaxRecipeBatches: 100, Batches: 50, MaxExcerpt: 300}
}

// Validate checks the options.
func (o SiteOptions) Validate() error {
	if o.Weeks < 1 || o.Weeks > 104 {
		return fmt.Errorf("--weeks must be between 1 and 104")
	}
	if o.MaxRecipes < 0 || o.MaxListed < 0 || o.Batches < 0 || o.MaxRecipeBatches < 1 {
		return fmt.Errorf("bad page bounds")
	}
	if o.MaxExcerpt < 16 {
		return fmt.Errorf("excerpt bound %d is too small", o.MaxExcerpt)
	}
	return o.Report.Validate()
}

// Site is everything the static site shows, computed by the report's own
// code: the main window's report, the pre-rendered windows' reports, one
// report per calendar week for the trend charts (each week's pass rates
// with their intervals, as `report --since --until` gives them), the
// budget of each week, the recipes failing in the main window, their
// histories and the newest batches' counts and failures.
type Site struct {
	Report  *Report            `json:"report"`
	Windows []SiteWindowReport `json:"windows"`
	// Weeks are oldest first; a week without a batch is kept (its points
	// are missing).
	Weeks []SiteWeek `json:"weeks"`
	// Budgets are the macOS budget of each week up to the report's clock
	// (at most Weeks, from the first with a run), oldest first, each as the
	// report computes it at the week's end (the last: at the clock).
	Budgets []Budget `json:"budgets"`
	// Failing are the recipes that failed in the main window, per
	// platform (at the report's level), most platforms first; FailingTotal
	// counts them all (Failing holds at most MaxListed per platform).
	Failing      []FailingRecipe `json:"failing"`
	FailingTotal map[string]int  `json:"failing_total"`
	// Recipes are the recipe pages' histories (at most MaxRecipes), each
	// cut to its newest MaxRecipeBatches batches (RecipeBatchesTotal says
	// how many it had).
	Recipes            []*RecipeView  `json:"recipes"`
	RecipeBatchesTotal map[string]int `json:"recipe_batches_total"`
	// RecipesFailing counts the distinct recipes that failed in the main
	// window (Recipes holds the pages of at most MaxRecipes of them).
	RecipesFailing int `json:"recipes_failing"`
	// Batches are the newest batches' counts and failures, newest first
	// (without the budget and insights of a job summary).
	Batches []*Summary `json:"batches"`
}

// SiteWindowReport is a pre-rendered window's report.
type SiteWindowReport struct {
	SiteWindow
	Report *Report `json:"report"`
}

// SiteWeek is one calendar week's report of the platforms.
type SiteWeek struct {
	Start     time.Time      `json:"start"`
	Batches   int            `json:"batches"`
	Platforms []PlatformStat `json:"platforms"`
}

// FailingRecipe is a recipe that failed on a platform in the window.
type FailingRecipe struct {
	Recipe   string `json:"recipe"`
	Platform string `json:"platform"`
	// Category is its failures' category, "" when they had several.
	Category string `json:"category"`
}

// BuildSite reads the data directory twice: once for every report (one
// reading, shared by the windows and weeks) and once for the recipes'
// histories and the batches' failures.
func BuildSite(fsys fs.FS, name string, o SiteOptions) (*Site, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	main := o.Report
	opts := []ReportOptions{main}
	for range SiteWindows {
		w := main
		// The detectors judge each batch from those before it: at the
		// window's end they stand where the main report's do.
		w.skipOutcomes, w.noDetectors = true, true
		opts = append(opts, w)
	}
	for range o.Weeks {
		w := main
		w.ratesOnly, w.skipFailures = true, true
		opts = append(opts, w)
	}
	var (
		latest   time.Time
		site     = &Site{FailingTotal: map[string]int{}, RecipeBatchesTotal: map[string]int{}}
		gapPkgs  = map[string][]FailingRecipe{}
		weekFrom time.Time
	)
	h := &reportHooks{
		run: func(b *model.BatchRun) {
			// The main window's newest batch: a run that tested something,
			// under its ecosystem filter and its end.
			if (main.Until.IsZero() || !b.Timestamp.After(main.Until)) && b.Timestamp.After(latest) && keptTested(main.Ecosystems, b) > 0 {
				latest = b.Timestamp
			}
		},
		plan: func(opts []ReportOptions) error {
			anchor := latest
			if anchor.IsZero() {
				anchor = main.Now
			}
			// Each window within the main one: ending at its newest batch,
			// and no wider than its --last and --since.
			for i, w := range SiteWindows {
				p := &opts[1+i]
				p.Last, p.Since, p.Until = w.Last, main.Since, anchor
				if main.Last > 0 && (p.Last == 0 || main.Last < p.Last) {
					p.Last = main.Last
				}
				if since := anchor.AddDate(0, 0, -w.Days); w.Days > 0 && since.After(p.Since) {
					p.Since = since
				}
			}
			weekFrom = WeekOf(anchor, main.WeekStart).AddDate(0, 0, -7*(o.Weeks-1))
			for i := range o.Weeks {
				p := &opts[1+len(SiteWindows)+i]
				start := weekFrom.AddDate(0, 0, 7*i)
				p.Last, p.Since, p.Until = 0, start, start.AddDate(0, 0, 7).Add(-time.Nanosecond)
				if main.Since.After(start) {
					p.Since = main.Since
				}
				if !p.Until.After(p.Since) {
					p.Since = p.Until.Add(-time.Nanosecond)
				}
			}
			return nil
		},
		done: func(views []*view, _ bool, _ int) {
			fa := views[0].fa
			if fa == nil {
				return
			}
			for k, st := range fa.gaps {
				pkg := fa.ids.pkgs.Name(k.pkg)
				f := FailingRecipe{Recipe: pkg, Platform: fa.ids.plats[k.plat]}
				if !st.mixed {
					f.Category = fa.ids.names[st.cat]
				}
				gapPkgs[pkg] = append(gapPkgs[pkg], f)
			}
		},
	}
	reps, runs, err := buildReportsWith(fsys, name, opts, h)
	if err != nil {
		return nil, err
	}
	site.Report = reps[0]
	for i, w := range SiteWindows {
		site.Windows = append(site.Windows, SiteWindowReport{SiteWindow: w, Report: reps[1+i]})
	}
	for i := range o.Weeks {
		r := reps[1+len(SiteWindows)+i]
		start := weekFrom.AddDate(0, 0, 7*i)
		site.Weeks = append(site.Weeks, SiteWeek{Start: start, Batches: r.Batches, Platforms: r.Platforms})
	}
	// The budget of the Weeks weeks up to the report's clock, each as the
	// report computes it at the week's end; the clock's week at the clock.
	cw := reps[0].Budget.WeekStart
	for i := o.Weeks - 1; i > 0; i-- {
		bo := main
		bo.Now = cw.AddDate(0, 0, -7*(i-1)).Add(-time.Nanosecond)
		site.Budgets = append(site.Budgets, computeBudget(runs, bo))
	}
	site.Budgets = append(site.Budgets, reps[0].Budget)
	// The weeks before the window's first batch say nothing: left out
	// (the newest is kept, whatever it holds).
	for len(site.Weeks) > 1 && site.Weeks[0].Batches == 0 {
		site.Weeks = site.Weeks[1:]
	}
	for len(site.Budgets) > 1 && site.Budgets[0].Batches == 0 {
		site.Budgets = site.Budgets[1:]
	}

	// The failing recipes: those on the most platforms first, then by name.
	pkgs := make([]string, 0, len(gapPkgs))
	for p, fs := range gapPkgs {
		pkgs = append(pkgs, p)
		sort.Slice(fs, func(i, j int) bool { return fs[i].Platform < fs[j].Platform })
	}
	sort.Slice(pkgs, func(i, j int) bool {
		a, b := len(gapPkgs[pkgs[i]]), len(gapPkgs[pkgs[j]])
		if a != b {
			return a > b
		}
		return pkgs[i] < pkgs[j]
	})
	site.RecipesFailing = len(pkgs)
	for _, p := range pkgs {
		for _, f := range gapPkgs[p] {
			site.FailingTotal[f.Platform]++
			if site.FailingTotal[f.Platform] <= o.MaxListed {
				site.Failing = append(site.Failing, f)
			}
		}
	}
	paged := map[string]bool{}
	for _, p := range pkgs[:min(len(pkgs), o.MaxRecipes)] {
		paged[p] = true
	}

	// The newest batches of the main window, with the batch before each
	// of the same ecosystem.
	if err := site.readDetails(fsys, name, o, paged); err != nil {
		return nil, err
	}
	return site, nil
}

// readDetails reads the recipe pages' histories and the batch pages'
// counts and failures, in one reading of the batch-run, failure and
// outcome records.
func (site *Site) readDetails(fsys fs.FS, name string, o SiteOptions, paged map[string]bool) error {
	if len(paged) == 0 && o.Batches == 0 {
		return nil
	}
	rep := site.Report
	var (
		runs   []*model.BatchRun
		lo, hi time.Time
		keep   = map[string]*summaryFails{}
	)
	if rep.Window.First != nil && rep.Window.Last != nil {
		lo, hi = *rep.Window.First, *rep.Window.Last
	}
	// The batch pages: the window's newest batches, picked once the
	// batch-run records are read (the reports keep no record whole), with
	// the batch before each of the same ecosystem.
	pick := func() {
		if o.Batches == 0 || hi.IsZero() {
			return
		}
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].Timestamp.Before(runs[j].Timestamp) })
		var picked []*Summary
		for i := len(runs) - 1; i >= 0 && len(picked) < o.Batches; i-- {
			b := runs[i]
			if b.Timestamp.Before(lo) || b.Timestamp.After(hi) || keptTested(o.Report.Ecosystems, b) == 0 {
				continue
			}
			var prev *model.BatchRun
			for j := i - 1; j >= 0; j-- {
				if runs[j].Ecosystem == b.Ecosystem && tested(runs[j]) > 0 {
					prev = runs[j]
					break
				}
			}
			picked = append(picked, newSummary(b, prev))
		}
		for _, s := range picked {
			key := recipeKeyOf(s.BatchID, s.Timestamp)
			if keep[key] != nil {
				// Two runs under one ID (legacy records): the page is
				// the newest's.
				continue
			}
			keep[key] = newSummaryFails(s, o.MaxExcerpt)
			site.Batches = append(site.Batches, s)
		}
		// A record that names no batch (v1) is its batch's by the exact
		// time.
		for _, s := range site.Batches {
			keep["@"+s.Timestamp.Format(time.RFC3339Nano)] = keep[recipeKeyOf(s.BatchID, s.Timestamp)]
		}
		runs = nil
	}
	rr, err := readRecipes(fsys, name, func(p string) bool { return paged[p] }, recipeHooks{
		run: func(b *model.BatchRun) { runs = append(runs, b) },
		ran: pick,
		fail: func(f *model.Failure) {
			if sf := keep[recipeKeyOf(f.BatchID, f.Timestamp)]; sf != nil {
				sf.add(f)
			}
		},
		// Failure lines of other recipes and other batches are not decoded.
		passOver: func(b, p []byte) bool { return !paged[string(p)] && keep[string(b)] == nil },
	}, o.MaxExcerpt)
	if err != nil {
		return err
	}
	for _, s := range site.Batches {
		keep[recipeKeyOf(s.BatchID, s.Timestamp)].done()
	}
	var ps []string
	for p := range paged {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	for _, p := range ps {
		v, total := rr.view(p, o.MaxRecipeBatches)
		if total == 0 {
			continue
		}
		site.RecipeBatchesTotal[p] = total
		site.Recipes = append(site.Recipes, v)
	}
	return nil
}

// keptTested counts the recipes a run tested that an ecosystem filter
// keeps, by the report's rule (level.add): a run's per-ecosystem counts
// where it has them, else the whole run when its ecosystem is selected (a
// v1 mixed run is "mixed"). With no filter, every recipe it tested.
func keptTested(ecosystems []string, b *model.BatchRun) int64 {
	if len(ecosystems) == 0 {
		return tested(b)
	}
	if b.ByEcosystem != nil {
		var n int64
		for eco, m := range b.ByEcosystem {
			if slices.Contains(ecosystems, eco) {
				for _, c := range m {
					n += c.Tested
				}
			}
		}
		return n
	}
	if slices.Contains(ecosystems, b.Ecosystem) {
		return tested(b)
	}
	return 0
}

// tested counts the recipes a run tested, over its platforms.
func tested(b *model.BatchRun) int64 {
	var n int64
	for _, c := range b.Platforms {
		n += c.Tested
	}
	return n
}

// Holder is the platform of the report's rates that holds platform key, a
// failure record's (its categories, blockers, gaps): records may name a
// finer platform than the rates do (failures by environment, batch runs
// by job). A key under no platform of the report is its own.
func (r *Report) Holder(key string) string {
	for _, p := range r.Platforms {
		if p.Platform == key {
			return key
		}
	}
	e := model.ParseEnv(key)
	if !e.Known() {
		return key
	}
	for _, p := range r.Platforms {
		l, ok := model.ParseLevel(p.Level)
		if !ok {
			continue
		}
		if id, at := e.At(l); id == p.Platform && at == l {
			return p.Platform
		}
	}
	return key
}
