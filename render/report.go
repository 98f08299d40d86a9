package render

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/batchsli/batchsli/analyze"
)

// TextOptions tune the terminal report.
type TextOptions struct {
	Color bool // ANSI colour (only on a terminal, never with NO_COLOR)
	// Width is the terminal's width in columns: tables and prose are laid
	// out within it (termtable.go). 0: no limit.
	Width int
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func ci(lo, hi float64) string { return fmt.Sprintf("%.1f–%.1f%%", 100*lo, 100*hi) }

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Spark draws a sparkline; blank for buckets without data.
func Spark(vals []*float64, blank rune) string {
	var b strings.Builder
	for _, v := range vals {
		if v == nil {
			b.WriteRune(blank)
			continue
		}
		i := int(math.Round(*v * float64(len(sparkRunes)-1)))
		b.WriteRune(sparkRunes[i])
	}
	return b.String()
}

// platformCells formats a platform's pass-rate row: esc makes the ID safe
// for the output, partial marks skip counts that some records lack, and
// blank fills sparkline buckets without data.
func platformCells(p analyze.PlatformStat, esc func(string) string, partial string, blank rune) []string {
	name := esc(p.Platform)
	if p.Coarser {
		name += " (" + p.Level + ")"
	}
	skipped := fmt.Sprint(p.Skipped)
	if p.SkippedPartial {
		skipped += partial
	}
	n := fmt.Sprint(p.N)
	if p.SmallSample {
		n += " (small)"
	}
	deff := "–"
	if p.RateBatches >= 2 {
		deff = fmt.Sprintf("%.2f", p.DesignEffect)
	}
	return []string{name, fmt.Sprint(p.Tested), fmt.Sprint(p.Passed), fmt.Sprint(p.Failed), skipped,
		ratePtr(p.PassRate), ciPtr(p.CILow, p.CIHigh, p.RateBatches), n, fmt.Sprint(p.RateBatches), deff, trendText(p.Trend), Spark(p.Spark, blank)}
}

// platformHeader names platformCells' columns.
var platformHeader = []string{"Platform", "Tested", "Passed", "Failed", "Skipped", "Pass rate", "95% CI", "n", "Batches", "Design effect", "Trend", "Per batch"}

// ratePtr shows a rate, or "–" where nothing was tested.
func ratePtr(f *float64) string {
	if f == nil {
		return "–"
	}
	return pct(*f)
}

// ciPtr shows an interval, or why there is none.
func ciPtr(lo, hi *float64, batches int) string {
	switch {
	case lo != nil && hi != nil:
		return ci(*lo, *hi)
	case batches == 0:
		return "–"
	}
	return fmt.Sprintf("too few batches (%d)", batches)
}

func trendText(t *analyze.Trend) string {
	if t == nil {
		return "–"
	}
	if !t.Testable {
		return t.Direction
	}
	return fmt.Sprintf("%+.1f pts (q = %.2g), %s", 100*t.Change, t.Q, t.Direction)
}

// healthCells is a platform's runner-health row.
func healthCells(p analyze.PlatformStat, esc func(string) string) []string {
	h := p.Health
	iv := "–"
	if h.CILow != nil {
		iv = ci(*h.CILow, *h.CIHigh)
	}
	return []string{esc(p.Platform), fmt.Sprint(h.Infrastructure), fmt.Sprint(h.Tested), ratePtr(h.FailureRate), iv, fmt.Sprint(len(h.Incidents)), trendText(h.Trend)}
}

var healthHeader = []string{"Platform", "Infra failures", "Tested", "Failure rate", "95% CI", "Incidents", "Trend"}

// gateCells is a gated platform's row: its gates and yield.
func gateCells(p analyze.PlatformStat, esc func(string) string) []string {
	y := "–"
	if p.Yield != nil {
		y = pct(*p.Yield)
	}
	return []string{esc(p.Platform), esc(strings.Join(p.GatedBy, ", ")), ratePtr(p.PassRate), y}
}

var gateHeader = []string{"Platform", "Tested only on passes of", "Pass rate (given passing)", "Yield (passes per recipe entering)"}

// detectorLines states the regression detector's alarms in the window, or
// where it stands when there are none.
func detectorLines(r *analyze.Report) []string {
	var out []string
	var top *analyze.PlatformStat
	for i, p := range r.Platforms {
		d := p.Detector
		if d == nil {
			continue
		}
		if top == nil || d.Statistic > top.Detector.Statistic {
			top = &r.Platforms[i]
		}
		for _, a := range d.Alarms {
			what := "regression"
			if a.PopulationChanged {
				what = "population changed (" + a.Reason + "), not a regression"
			}
			out = append(out, fmt.Sprintf("%s: alarm at %s (statistic %.1f > %.0f), %s; the change began at %s (%s): since then (%d batches) %s of %d %s where their ecosystems' history predicts %s",
				p.Platform, a.At, a.Stat, d.Threshold, what, a.Start, a.StartAt.UTC().Format("2006-01-02 15:04"), a.Batches, pct(a.Observed), a.Tests, "recipe tests passed", pct(a.Expected)))
		}
	}
	if len(out) == 0 && top != nil {
		out = append(out, fmt.Sprintf("no alarm in the window; the highest statistic is %s's, %.1f of %.0f", top.Platform, top.Detector.Statistic, top.Detector.Threshold))
	}
	return out
}

func upper(h []string) []string {
	out := make([]string, len(h))
	for i, s := range h {
		out[i] = strings.ToUpper(s)
	}
	return out
}

func anyGated(r *analyze.Report) bool {
	for _, p := range r.Platforms {
		if len(p.GatedBy) > 0 {
			return true
		}
	}
	return false
}

func secs(f *float64) string { return duration(f) }

// transpose swaps a table's rows and columns.
func transpose(rows [][]string) [][]string {
	out := make([][]string, len(rows[0]))
	for j := range out {
		out[j] = make([]string, len(rows))
		for i, row := range rows {
			out[j][i] = row[j]
		}
	}
	return out
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

var kindTitle = map[string]string{
	analyze.KindWeakest:    "weakest platform",
	analyze.KindGap:        "capability gap",
	analyze.KindSkip:       "skip advice",
	analyze.KindRegression: "regression",
	analyze.KindIncident:   "runner incident",
	analyze.KindGapClosed:  "capability gap closed",
}

// matrixAxes returns the matrix's ecosystems and platforms in order.
func matrixAxes(r *analyze.Report) (ecos, plats []string, cell map[[2]string]analyze.MatrixCell) {
	cell = map[[2]string]analyze.MatrixCell{}
	seenE, seenP := map[string]bool{}, map[string]bool{}
	for _, c := range r.Matrix {
		cell[[2]string{c.Ecosystem, c.Platform}] = c
		if !seenE[c.Ecosystem] {
			seenE[c.Ecosystem] = true
			ecos = append(ecos, c.Ecosystem)
		}
		if !seenP[c.Platform] {
			seenP[c.Platform] = true
			plats = append(plats, c.Platform)
		}
	}
	sort.Strings(ecos)
	sort.Strings(plats)
	return ecos, plats, cell
}

type palette struct{ on bool }

func (p palette) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p palette) bold(s string) string { return p.wrap("1", s) }

func (p palette) rate(f float64, s string) string {
	switch {
	case f >= 0.9:
		return p.wrap("32", s)
	case f >= 0.7:
		return p.wrap("33", s)
	default:
		return p.wrap("31", s)
	}
}

// ReportText writes the report for a terminal.
func ReportText(w io.Writer, r *analyze.Report, o TextOptions) error {
	out, _ := reportText(r, o)
	_, err := io.WriteString(w, out)
	return err
}

// reportText renders the report; budget is where its budget line is.
func reportText(r *analyze.Report, o TextOptions) (out string, budget [2]int) {
	var b strings.Builder
	pal := palette{o.Color}
	header := func(s string) {
		b.WriteString("\n")
		for _, l := range Wrap(s, o.Width, false) {
			b.WriteString(pal.bold(l) + "\n")
		}
	}
	// para writes text wrapped to the width, its lines after the first
	// indented by indent columns.
	para := func(prefix, text string, indent int) {
		for _, l := range hanging(prefix, text, o.Width, indent) {
			b.WriteString(l + "\n")
		}
	}
	line := func(text string) { para("", text, 0) }
	tableDrop := func(rows [][]string, drop ...int) {
		lines, dropped := textTable{rows: rows, drop: drop}.layout(o.Width)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		if len(dropped) > 0 {
			line(fmt.Sprintf("Left out at %d columns: %s (a wider terminal, --width or --format json shows them).", o.Width, strings.ToLower(strings.Join(dropped, ", "))))
		}
	}
	table := func(rows [][]string) { tableDrop(rows) }
	// Within a narrow terminal, a trend that is not significant says so
	// in short (the line after the table explains).
	narrowTrend := o.Width > 0 && o.Width < 140
	nsUsed := false
	trend := func(t *analyze.Trend) string {
		if narrowTrend && t != nil && t.Testable && t.Direction == "no significant change" {
			nsUsed = true
			return fmt.Sprintf("%+.1f pts (q = %.2g), n.s.", 100*t.Change, t.Q)
		}
		return trendText(t)
	}
	line(pal.bold("batchsli report: " + Clean(r.Data)))
	line(fmt.Sprintf("window: %s, %d batches (%s .. %s), platforms by %s", r.Window.Description, r.Batches, day(r.Window.First), day(r.Window.Last), r.By))
	line(fmt.Sprintf("trend: %s", r.Window.TrendDescription))
	if r.EmptyRuns > 0 {
		line(fmt.Sprintf("%d more runs tested nothing and are not batches", r.EmptyRuns))
	}

	header("Platform pass rates")
	if len(r.Platforms) == 0 {
		b.WriteString("no batch in the window tested anything\n")
	}
	rows := [][]string{upper(platformHeader)}
	for _, p := range r.Platforms {
		cells := platformCells(p, Clean, "+?", ' ')
		if p.PassRate != nil {
			cells[5] = pal.rate(*p.PassRate, cells[5])
		}
		cells[10] = trend(p.Trend)
		rows = append(rows, cells)
	}
	if len(r.Platforms) > 0 {
		// Narrow terminals lose the design effect, the sparkline and the
		// split of the tests first; the rate, its interval, n, batches
		// and trend stay.
		tableDrop(rows, 9, 11, 4, 2, 3)
		if nsUsed {
			line("n.s.: no significant change.")
		}
		line(fmt.Sprintf("Pass rates count recipe results: infrastructure failures and incident batches are left out (runner health below). Intervals treat batches as clusters (intra-batch correlation %.2f pooled); trends compare within ecosystems.", r.Inference.ICC))
	}
	if anyGated(r) {
		header("Progressive validation")
		rows = [][]string{upper(gateHeader)}
		for _, p := range r.Platforms {
			if len(p.GatedBy) > 0 {
				rows = append(rows, gateCells(p, Clean))
			}
		}
		table(rows)
	}
	if len(r.Platforms) > 0 {
		header("Runner health")
		rows = [][]string{upper(healthHeader)}
		for _, p := range r.Platforms {
			cells := healthCells(p, Clean)
			cells[6] = trend(p.Health.Trend)
			rows = append(rows, cells)
		}
		table(rows)
	}

	if lines := detectorLines(r); len(lines) > 0 {
		header("Regression detector (CUSUM within ecosystems)")
		for _, l := range lines {
			line(Clean(l))
		}
	}

	if rs := recipeSections(r, Clean); rs.note != "" || len(rs.tables) > 0 {
		header("Recipe histories")
		if rs.note != "" {
			line(Clean(rs.note))
		}
		for _, t := range rs.tables {
			b.WriteString("\n")
			line(t.title + ":")
			if len(t.rows) == 0 && t.empty != "" {
				line(t.empty)
			} else {
				table(append([][]string{t.header}, t.rows...))
			}
			if t.more > 0 {
				line(fmt.Sprintf("... and %d more (--format json lists them all)", t.more))
			}
			if t.after != "" {
				line(t.after)
			}
		}
	}

	header("Failure categories")
	if len(r.Categories) == 0 {
		b.WriteString("no failure records in the window\n")
	} else {
		rows = [][]string{{"PLATFORM", "CATEGORY", "KIND", "COUNT", "SHARE OF PLATFORM'S FAILURES"}}
		for _, c := range r.Categories {
			name := Clean(c.Category)
			if !c.Known {
				name += " (unknown)"
			}
			rows = append(rows, []string{Clean(c.Platform), name, c.Kind, fmt.Sprint(c.Count), pct(c.Share)})
		}
		table(rows)
	}
	if len(r.Blockers) > 0 {
		header("Top blockers")
		rows = [][]string{{"PLATFORM", "BLOCKED BY", "RECIPES", "FAILURES"}}
		for _, bl := range r.Blockers {
			rows = append(rows, []string{Clean(bl.Platform), Clean(bl.Dependency), fmt.Sprint(bl.Recipes), fmt.Sprint(bl.Failures)})
		}
		table(rows)
	}

	header("Ecosystem x platform pass rates (n)")
	ecos, plats, cell := matrixAxes(r)
	if len(plats) == 0 {
		b.WriteString("no batch in the window\n")
	}
	rows = [][]string{append([]string{"ECOSYSTEM"}, cleanAll(plats)...)}
	for _, e := range ecos {
		row := []string{Clean(e)}
		for _, p := range plats {
			c, ok := cell[[2]string{e, p}]
			if !ok {
				row = append(row, "-")
				continue
			}
			cellText := fmt.Sprintf("%s (%d)", ratePtr(c.PassRate), c.N)
			if c.PassRate != nil {
				cellText = pal.rate(*c.PassRate, cellText)
			}
			row = append(row, cellText)
		}
		rows = append(rows, row)
	}
	if len(plats) > 0 {
		// Wider than the terminal, the matrix is shown with platforms as
		// rows: there are fewer ecosystems, with shorter names.
		if lines, _ := (textTable{rows: rows}).layout(0); o.Width > 0 && len(lines) > 0 && Width(lines[0]) > o.Width {
			rows = transpose(rows)
			rows[0][0] = "PLATFORM"
		}
		table(rows)
	}

	header("Durations per batch")
	if len(r.Durations) == 0 {
		b.WriteString("no durations recorded in the window\n")
	} else {
		rows = [][]string{{"PLATFORM", "BATCHES", "MEDIAN", "P90", "PER RECIPE MEDIAN", "PER RECIPE P90"}}
		for _, d := range r.Durations {
			rows = append(rows, []string{Clean(d.Platform), fmt.Sprint(d.Batches), secs(d.MedianSeconds), secs(d.P90Seconds), secs(d.PerRecipeMedian), secs(d.PerRecipeP90)})
		}
		table(rows)
	}

	header("macOS budget")
	budget[0] = b.Len()
	b.WriteString(textBudget(r.Budget, o.Width))
	budget[1] = b.Len()

	header("Insights")
	if len(r.Insights) == 0 {
		b.WriteString("none\n")
	}
	for _, in := range r.Insights {
		para("- "+pal.bold(kindTitle[in.Kind])+": ", Clean(in.Evidence), 2)
	}
	b.WriteString("\n")
	para("weakest platform: ", Clean(r.Verdicts.WeakestPlatform), 2)
	para("regressions: ", Clean(r.Verdicts.Regressions), 2)
	para("skip advice: ", Clean(r.Verdicts.SkipAdvice), 2)
	para("capability gaps: ", Clean(r.Verdicts.CapabilityGaps), 2)

	header("Notes")
	for i, n := range r.Notes {
		num := fmt.Sprintf("%d. ", i+1)
		para(num, Clean(n), len(num))
	}
	if len(r.Problems) > 0 {
		header("Problems")
		for _, p := range r.Problems {
			para("", Clean(p.String()), 2)
		}
		if r.MoreProblems > 0 {
			line(fmt.Sprintf("... and %d more", r.MoreProblems))
		}
	}
	return b.String(), budget
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Clean(s)
	}
	return out
}

// budgetLine states the week's budget in one line.
func budgetLine(bu analyze.Budget) string {
	week := fmt.Sprintf("week of %s", bu.WeekStart.Format("Mon 2006-01-02"))
	if bu.UsedMinutes == nil {
		return fmt.Sprintf("%s: used unknown / %.0f min (%s)", week, bu.BudgetMinutes, bu.Status)
	}
	batches := fmt.Sprintf("%d batches", bu.Batches)
	if bu.Batches == 1 {
		batches = "1 batch"
	}
	s := fmt.Sprintf("%s: %.0f / %.0f min (%s) over %s", week, *bu.UsedMinutes, bu.BudgetMinutes, pct(*bu.UsedShare), batches)
	return s + "; " + bu.Status
}
