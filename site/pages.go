package site

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/model"
)

// overview is an overview page's content: the main window's or a
// pre-rendered window's report.
type overview struct {
	Report *analyze.Report
	// Slug is the window's ("" for the main one).
	Slug          string
	WindowTitle   string
	Trend, Health chart
	Budget        *bars
	Gaps          []analyze.Insight
	Insights      []analyze.Insight
	Matrix        matrix
	// Categories per platform, split by kind.
	Categories []platformCategories
	Platform   func(string) string
	// Root leads back to the site's root.
	Root string
}

// chart is a chart drawn, with its table.
type chart struct {
	Title, Description string
	SVG, Table, Legend template.HTML
	Empty              bool
}

// bars is the budget chart drawn, with its rows.
type bars struct {
	Description string
	SVG         template.HTML
	Rows        []analyze.Budget
}

type matrix struct {
	Platforms  []string
	Ecosystems []string
	Cells      map[string]map[string]*analyze.MatrixCell
}

// Cell returns the cell of an ecosystem on a platform (nil: not tested).
func (m matrix) Cell(eco, plat string) *analyze.MatrixCell { return m.Cells[eco][plat] }

type platformCategories struct {
	Platform        string
	Recipe, Infra   []analyze.CategoryStat
	RecipeN, InfraN int64
}

type platformPage struct {
	Stat analyze.PlatformStat
	// NoRate is set for a platform that only failure records name.
	NoRate     bool
	Trend      chart
	Health     chart
	Categories []analyze.CategoryStat
	Blockers   []analyze.BlockerStat
	Cells      []*analyze.MatrixCell
	List       listPage
	Gaps       []analyze.Insight
}

// listPage is one page of a paginated list of failing recipes.
type listPage struct {
	Rows        []listRow
	Page, Pages int
	Total       int
	Prev, Next  string
	// Listed counts the rows listed over all pages (Total may be more).
	Listed int
	Root   string
}

type listRow struct {
	Recipe, Category, Platform string
	// Href is the recipe's page ("" without one).
	Href string
}

type recipePage struct {
	View  *analyze.RecipeView
	Total int
	// Rows are its batches, rendered (recipeRows).
	Rows template.HTML
	// Batch links a batch ID to its page ("" without one).
	Batch func(string) string
}

type ecosystemPage struct {
	Ecosystem string
	Cells     []*analyze.MatrixCell
	Insights  []analyze.Insight
	Platform  func(string) string
}

type batchPage struct {
	S     *analyze.Summary
	Batch func(string) string
	// Recipe links a recipe to its page ("" without one).
	Recipe func(string) string
}

type batchesPage struct {
	Batches []*analyze.Summary
	Batch   func(string) string
}

// build renders every page of the site into w.
func build(w *writer, s *analyze.Site) error {
	css, err := files.ReadFile("style.css")
	if err != nil {
		return err
	}
	if err := w.file("style.css", css); err != nil {
		return err
	}
	if err := w.file(marker, []byte("A static site written by batchsli site: the command replaces this folder whole.\n")); err != nil {
		return err
	}

	recipeHref := map[string]string{}
	for _, v := range s.Recipes {
		recipeHref[v.Recipe] = "recipe/" + Slug(v.Recipe) + ".html"
	}
	batchHref := map[string]string{}
	for _, b := range s.Batches {
		batchHref[b.BatchID] = "batch/" + Slug(b.BatchID) + ".html"
	}
	platHref := func(p string) string { return "platform/" + Slug(p) + ".html" }

	// Overviews: the main window's, then each pre-rendered window's.
	ov := func(r *analyze.Report, slug, title, root string) (*overview, error) {
		o := &overview{Report: r, Slug: slug, WindowTitle: title, Platform: platHref, Root: root}
		var err error
		if o.Trend, err = trendChart(s, "trend", "", false); err != nil {
			return nil, err
		}
		if o.Health, err = trendChart(s, "health", "", true); err != nil {
			return nil, err
		}
		if slug == "" {
			o.Budget, err = budgetChart(s)
			if err != nil {
				return nil, err
			}
		}
		for _, in := range r.Insights {
			if in.Kind == analyze.KindGap {
				o.Gaps = append(o.Gaps, in)
			} else {
				o.Insights = append(o.Insights, in)
			}
		}
		o.Matrix = matrixOf(r)
		o.Categories = categoriesOf(r)
		return o, nil
	}
	main, err := ov(s.Report, "", "", "")
	if err != nil {
		return err
	}
	if err := w.page("index.html", "overview", page{Title: "Overview", Nav: "overview", Site: s, Content: main}); err != nil {
		return err
	}
	for _, win := range s.Windows {
		o, err := ov(win.Report, win.Slug, win.Title, "../")
		if err != nil {
			return err
		}
		if err := w.page("window/"+win.Slug+".html", "overview", page{Title: win.Title, Root: "../", Nav: win.Slug, Site: s, Content: o}); err != nil {
			return err
		}
	}

	// Platform pages, each with its failing recipes in pages: the failure
	// records' platforms rolled to the rates' (Report.Holder), and a page of its
	// own for a platform with failures but no rate.
	failing := map[string][]listRow{}
	failTotal := map[string]int{}
	for _, f := range s.Failing {
		o := s.Report.Holder(f.Platform)
		failing[o] = append(failing[o], listRow{Recipe: f.Recipe, Category: f.Category, Platform: f.Platform, Href: recipeHref[f.Recipe]})
	}
	for k, n := range s.FailingTotal {
		failTotal[s.Report.Holder(k)] += n
	}
	stats := slices.Clone(s.Report.Platforms)
	known := map[string]bool{}
	for _, p := range stats {
		known[p.Platform] = true
	}
	var orphans []string
	for _, k := range append(append(slices.Collect(maps.Keys(failTotal)), catPlatforms(s.Report)...), blockPlatforms(s.Report)...) {
		if o := s.Report.Holder(k); !known[o] {
			known[o] = true
			orphans = append(orphans, o)
		}
	}
	sort.Strings(orphans)
	for _, o := range orphans {
		stats = append(stats, analyze.PlatformStat{Platform: o})
	}
	for _, p := range stats {
		pp := platformPage{Stat: p, NoRate: !slices.ContainsFunc(s.Report.Platforms, func(q analyze.PlatformStat) bool { return q.Platform == p.Platform })}
		if pp.Trend, err = trendChart(s, "trend", p.Platform, false); err != nil {
			return err
		}
		if pp.Health, err = trendChart(s, "health", p.Platform, true); err != nil {
			return err
		}
		for _, c := range s.Report.Categories {
			if s.Report.Holder(c.Platform) == p.Platform {
				pp.Categories = append(pp.Categories, c)
			}
		}
		for _, b := range s.Report.Blockers {
			if s.Report.Holder(b.Platform) == p.Platform {
				pp.Blockers = append(pp.Blockers, b)
			}
		}
		for i := range s.Report.Matrix {
			if c := &s.Report.Matrix[i]; c.Platform == p.Platform {
				pp.Cells = append(pp.Cells, c)
			}
		}
		for _, in := range s.Report.Insights {
			if in.Kind == analyze.KindGap && s.Report.Holder(in.Platform) == p.Platform {
				pp.Gaps = append(pp.Gaps, in)
			}
		}
		rows := failing[p.Platform]
		base := "platform/" + Slug(p.Platform)
		for k, lp := range paginate(rows, failTotal[p.Platform], func(k int) string { return pageName(Slug(p.Platform), k) }) {
			pp.List = lp
			pp.List.Root = "../"
			path := base + ".html"
			if k > 0 {
				path = "platform/" + pageName(Slug(p.Platform), k+1)
			}
			if err := w.page(path, "platform", page{Title: p.Platform, Root: "../", Nav: "platforms", Site: s, Content: pp}); err != nil {
				return err
			}
		}
	}

	// A page per ecosystem: the heatmap's row as a filter.
	for _, e := range main.Matrix.Ecosystems {
		ep := ecosystemPage{Ecosystem: e, Platform: platHref}
		for _, p := range main.Matrix.Platforms {
			if c := main.Matrix.Cell(e, p); c != nil {
				ep.Cells = append(ep.Cells, c)
			}
		}
		for _, in := range s.Report.Insights {
			if in.Ecosystem == e {
				ep.Insights = append(ep.Insights, in)
			}
		}
		if err := w.page("ecosystem/"+Slug(e)+".html", "ecosystem", page{Title: "Ecosystem " + e, Root: "../", Nav: "ecosystems", Site: s, Content: ep}); err != nil {
			return err
		}
	}

	// The failing recipes, all platforms, in pages.
	var all []listRow
	for _, f := range s.Failing {
		all = append(all, listRow{Recipe: f.Recipe, Category: f.Category, Platform: f.Platform, Href: recipeHref[f.Recipe]})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Recipe != all[j].Recipe {
			return all[i].Recipe < all[j].Recipe
		}
		return all[i].Platform < all[j].Platform
	})
	total := 0
	for _, n := range s.FailingTotal {
		total += n
	}
	for k, lp := range paginate(all, total, func(k int) string { return pageName("recipes", k) }) {
		path := "recipes.html"
		if k > 0 {
			path = pageName("recipes", k+1)
		}
		if err := w.page(path, "recipes", page{Title: "Failing recipes", Nav: "recipes", Site: s, Content: lp}); err != nil {
			return err
		}
	}

	// Recipe and batch pages.
	batchLink := func(id string) string { return batchHref[id] }
	recipeLink := func(id string) string { return recipeHref[id] }
	err = w.pages(len(s.Recipes), func(i int) error {
		v := s.Recipes[i]
		rp := recipePage{View: v, Total: s.RecipeBatchesTotal[v.Recipe], Batch: batchLink, Rows: recipeRows(v, batchLink)}
		return w.page(recipeHref[v.Recipe], "recipe", page{Title: v.Recipe, Root: "../", Nav: "recipes", Site: s, Content: rp})
	})
	if err != nil {
		return err
	}
	err = w.pages(len(s.Batches), func(i int) error {
		b := s.Batches[i]
		return w.page(batchHref[b.BatchID], "batch", page{Title: "Batch " + b.BatchID, Root: "../", Nav: "batches", Site: s, Content: batchPage{S: b, Batch: batchLink, Recipe: recipeLink}})
	})
	if err != nil {
		return err
	}
	return w.page("batches.html", "batches", page{Title: "Batches", Nav: "batches", Site: s, Content: batchesPage{Batches: s.Batches, Batch: batchLink}})
}

// pageName is the file of page k (1-based; the first has no number).
func pageName(base string, k int) string {
	if k <= 1 {
		return base + ".html"
	}
	return fmt.Sprintf("%s-%d.html", base, k)
}

// paginate splits rows into pages of PageSize (one page when empty).
func paginate(rows []listRow, total int, name func(int) string) []listPage {
	n := max(1, (len(rows)+PageSize-1)/PageSize)
	out := make([]listPage, n)
	for k := range n {
		lp := listPage{Rows: rows[k*PageSize : min(len(rows), (k+1)*PageSize)], Page: k + 1, Pages: n, Total: total, Listed: len(rows)}
		if k > 0 {
			lp.Prev = name(k)
		}
		if k+1 < n {
			lp.Next = name(k + 2)
		}
		out[k] = lp
	}
	return out
}

// trendChart draws, per week, each platform's pass rate (or, with health,
// its infrastructure failure rate) with its interval; only platform when
// given.
func trendChart(s *analyze.Site, id, platform string, health bool) (chart, error) {
	var labels []string
	for _, w := range s.Weeks {
		labels = append(labels, w.Start.Format("Jan 2"))
	}
	order := []string{}
	for _, p := range s.Report.Platforms {
		if platform == "" || p.Platform == platform {
			order = append(order, p.Platform)
		}
	}
	series := make([]Series, len(order))
	ymax := 0.0
	for i, name := range order {
		series[i].Name = name
		for _, w := range s.Weeks {
			pt := Point{Missing: true}
			for _, p := range w.Platforms {
				if p.Platform != name {
					continue
				}
				v, lo, hi := p.PassRate, p.CILow, p.CIHigh
				n, small := p.N, p.SmallSample
				if health {
					v, lo, hi = p.Health.FailureRate, p.Health.CILow, p.Health.CIHigh
					n, small = p.Health.Tested, p.SmallSample
				}
				if v != nil && lo != nil && hi != nil {
					pt = Point{Value: *v, Low: *lo, High: *hi, N: n, Batches: p.RateBatches, Small: small}
					ymax = math.Max(ymax, *hi)
				}
			}
			series[i].Points = append(series[i].Points, pt)
		}
	}
	c := Chart{ID: id, XLabels: labels, Series: series, XTitle: "week of"}
	if health {
		c.Title = "Runner health: infrastructure failure rate per week"
		c.Description = "Share of each platform's tests that failed for the infrastructure's reasons, per calendar week, with 95% intervals (clustered by batch). A gap is a week with too few batches to say."
		c.YMax = niceMax(ymax)
	} else {
		c.Title = "Recipe pass rate per week"
		c.Description = "Each platform's recipe pass rate per calendar week, with its 95% interval as a band (clustered by batch). A gap is a week with too few batches to say; a dashed vertical line marks where a detected regression began. With many weeks and platforms some bands miss by chance: a change is stated only by the trend test and the detector (the platform table)."
		for _, p := range s.Report.Platforms {
			if platform != "" && p.Platform != platform || p.Detector == nil {
				continue
			}
			for _, a := range p.Detector.Alarms {
				for k, w := range s.Weeks {
					if !a.StartAt.Before(w.Start) && a.StartAt.Before(w.Start.AddDate(0, 0, 7)) {
						c.Marks = append(c.Marks, Mark{X: k, Label: fmt.Sprintf("%s: regression from batch %s", p.Platform, a.Start)})
					}
				}
			}
		}
	}
	if platform != "" {
		c.ID += "-" + Slug(platform)
	}
	var svg, table, legend bytes.Buffer
	if err := c.SVG(&svg); err != nil {
		return chart{}, err
	}
	if err := c.Legend(&legend); err != nil {
		return chart{}, err
	}
	if err := c.Table(&table); err != nil {
		return chart{}, err
	}
	empty := true
	for _, se := range series {
		for _, p := range se.Points {
			if !p.Missing {
				empty = false
			}
		}
	}
	return chart{Title: c.Title, Description: c.Description, SVG: template.HTML(svg.String()), Table: template.HTML(table.String()), Legend: template.HTML(legend.String()), Empty: empty}, nil
}

// niceMax rounds a chart's top up to 5%, 10%, 25%, 50% or 100%.
func niceMax(v float64) float64 {
	for _, m := range []float64{0.05, 0.1, 0.25, 0.5} {
		if v <= m {
			return m
		}
	}
	return 1
}

// budgetChart draws each week's macOS minutes against the budget, with
// the current week's projection and its interval.
func budgetChart(s *analyze.Site) (*bars, error) {
	if len(s.Budgets) == 0 {
		return nil, nil
	}
	c := Bars{ID: "budget", Unit: "minutes", Title: "macOS minutes per week against the budget",
		Description: "Bars: the macOS minutes each week used. Dashed line: the weekly budget. Diamond and bar on the current week: the forecast of its total with its 90% prediction interval, when it is not too early to project."}
	for i, b := range s.Budgets {
		bar := Bar{Label: b.WeekStart.Format("Jan 2")}
		if b.UsedMinutes != nil {
			bar.Value, bar.Known = *b.UsedMinutes, true
		}
		if i == len(s.Budgets)-1 && b.ProjectedMinutes != nil && b.ProjectedLow != nil && b.ProjectedHigh != nil {
			bar.Projected, bar.Median, bar.Low, bar.High = true, *b.ProjectedMinutes, *b.ProjectedLow, *b.ProjectedHigh
		}
		c.Limit = b.BudgetMinutes
		c.Bars = append(c.Bars, bar)
	}
	var svg bytes.Buffer
	if err := c.SVG(&svg); err != nil {
		return nil, err
	}
	rows := slices.Clone(s.Budgets)
	slices.Reverse(rows)
	return &bars{Description: c.Description, SVG: template.HTML(svg.String()), Rows: rows}, nil
}

func matrixOf(r *analyze.Report) matrix {
	m := matrix{Cells: map[string]map[string]*analyze.MatrixCell{}}
	for _, p := range r.Platforms {
		m.Platforms = append(m.Platforms, p.Platform)
	}
	for i := range r.Matrix {
		c := &r.Matrix[i]
		if m.Cells[c.Ecosystem] == nil {
			m.Cells[c.Ecosystem] = map[string]*analyze.MatrixCell{}
			m.Ecosystems = append(m.Ecosystems, c.Ecosystem)
		}
		m.Cells[c.Ecosystem][c.Platform] = c
	}
	sort.Strings(m.Ecosystems)
	return m
}

// categoriesOf sums the categories per platform of the rates (Holder),
// each row naming the platform its records gave.
func categoriesOf(r *analyze.Report) []platformCategories {
	byOwner := map[string]*platformCategories{}
	var order []string
	for _, p := range r.Platforms {
		byOwner[p.Platform] = &platformCategories{Platform: p.Platform}
		order = append(order, p.Platform)
	}
	for _, c := range r.Categories {
		o := r.Holder(c.Platform)
		pc := byOwner[o]
		if pc == nil {
			pc = &platformCategories{Platform: o}
			byOwner[o] = pc
			order = append(order, o)
		}
		if c.Platform != o {
			c.Category += " (" + c.Platform + ")"
		}
		if model.CategoryKind(strings.TrimSuffix(c.Category, " ("+c.Platform+")")) == model.KindInfrastructure {
			pc.Infra = append(pc.Infra, c)
			pc.InfraN += c.Count
		} else {
			pc.Recipe = append(pc.Recipe, c)
			pc.RecipeN += c.Count
		}
	}
	var out []platformCategories
	for _, o := range order {
		if pc := byOwner[o]; pc.RecipeN+pc.InfraN > 0 {
			out = append(out, *pc)
		}
	}
	return out
}

func catPlatforms(r *analyze.Report) []string {
	var out []string
	for _, c := range r.Categories {
		out = append(out, c.Platform)
	}
	return out
}

func blockPlatforms(r *analyze.Report) []string {
	var out []string
	for _, b := range r.Blockers {
		out = append(out, b.Platform)
	}
	return out
}

// recipeRows renders a recipe's batches: the longest part of a recipe
// page, written here rather than by the template (a tenth of the time).
// Every text goes through esc, as html/template would escape it in
// element content and quoted attributes; links are page names (Slug).
func recipeRows(v *analyze.RecipeView, batch func(string) string) template.HTML {
	var b strings.Builder
	list := func(ps []string) string { return esc(strings.Join(ps, ", ")) }
	for _, rb := range v.Batches {
		b.WriteString("<section class=\"batch\">\n<h3>")
		if href := batch(rb.BatchID); href != "" {
			b.WriteString(`<a href="../` + esc(href) + `">` + esc(rb.BatchID) + "</a>")
		} else {
			b.WriteString(esc(rb.BatchID))
		}
		b.WriteString(" <small>" + rb.Timestamp.UTC().Format("2006-01-02 15:04 UTC"))
		if rb.Version != "" {
			b.WriteString(", version " + esc(rb.Version))
		}
		b.WriteString("</small></h3>\n")
		if rb.Outcomes {
			b.WriteString("<p>Passed: ")
			if len(rb.Passed) > 0 {
				b.WriteString(list(rb.Passed))
			} else {
				b.WriteString("none")
			}
			if len(rb.Retried) > 0 {
				b.WriteString("; passed after a retry: " + list(rb.Retried))
			}
			if len(rb.Skipped) > 0 {
				b.WriteString("; skipped: " + list(rb.Skipped))
			}
			b.WriteString(".</p>\n")
		} else {
			b.WriteString("<p>No outcome record: only its failures are known.</p>\n")
		}
		for _, f := range rb.Failures {
			b.WriteString("<div class=\"failure\"><p><strong>" + esc(f.Platform) + "</strong>: " + esc(f.Category))
			if len(f.BlockedBy) > 0 {
				b.WriteString(", blocked by " + list(f.BlockedBy))
			}
			if f.ExitCode != nil {
				fmt.Fprintf(&b, ", exit code %d", *f.ExitCode)
			}
			b.WriteString("</p>\n")
			if f.Excerpt != "" {
				b.WriteString("<pre>" + html.EscapeString(message(f.Excerpt)) + "</pre>")
			}
			b.WriteString("</div>\n")
		}
		b.WriteString("</section>\n")
	}
	return template.HTML(b.String())
}
