package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/batchsli/batchsli/analyze"
)

// mdTable writes a GitHub-flavoured table. Cells must already be escaped.
func mdTable(b *strings.Builder, header []string, align string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i > 0 && align == "right" {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// mdPlatformHeader is the markdown platform table's columns: what fits
// GitHub's content width; the rest is in a folded table below it.
var mdPlatformHeader = []string{"Platform", "Pass rate", "95% CI", "n", "Batches", "Failed", "Skipped", "Trend"}

// mdTrend is a trend in few words: a change that is not significant is
// "n.s." (the line under the table says so).
func mdTrend(t *analyze.Trend) string {
	if t != nil && t.Testable && t.Direction == "no significant change" {
		return fmt.Sprintf("%+.1f pts, n.s.", 100*t.Change)
	}
	if t != nil && t.Testable {
		return fmt.Sprintf("%+.1f pts, **%s** (q = %.2g)", 100*t.Change, t.Direction, t.Q)
	}
	return MD(trendText(t))
}

// MDPlatforms writes the platform pass-rate table of a report: the
// columns that fit GitHub's width, then every column folded, then a chart
// of each platform's pass rate per batch bucket.
func MDPlatforms(b *strings.Builder, r *analyze.Report) {
	var rows, all [][]string
	for _, p := range r.Platforms {
		c := platformCells(p, MD, " (partial)", '·')
		rows = append(rows, []string{c[0], c[5], c[6], c[7], c[8], c[3], c[4], mdTrend(p.Trend)})
		all = append(all, []string{c[0], c[1], c[2], c[9], MD(trendText(p.Trend))})
	}
	mdTable(b, mdPlatformHeader, "right", rows)
	fmt.Fprintf(b, "Pass rates count recipe results: infrastructure failures and incident batches are left out (runner health below). Intervals treat batches as clusters (intra-batch correlation %.2f pooled); trends compare within ecosystems, newer against older (n.s.: no significant change at q <= %.2g).\n\n", r.Inference.ICC, r.Inference.Q)
	b.WriteString("<details>\n<summary>Tests, passes, design effects and trends in full</summary>\n\n")
	mdTable(b, []string{"Platform", "Tested", "Passed", "Design effect", "Trend"}, "right", all)
	b.WriteString("</details>\n\n")
	mdCharts(b, r)
	if anyGated(r) {
		b.WriteString("### Progressive validation\n\n")
		rows = nil
		for _, p := range r.Platforms {
			if len(p.GatedBy) > 0 {
				rows = append(rows, gateCells(p, MD))
			}
		}
		mdTable(b, gateHeader, "", rows)
	}
	b.WriteString("### Runner health\n\n")
	rows = nil
	for _, p := range r.Platforms {
		c := healthCells(p, MD)
		c[6] = mdTrend(p.Health.Trend)
		rows = append(rows, c)
	}
	mdTable(b, healthHeader, "", rows)
}

// mdCharts writes, folded, a Mermaid line chart of each platform's pass
// rate per bucket of consecutive batches (GitHub renders Mermaid). Buckets
// that tested nothing on the platform are left out of its line.
func mdCharts(b *strings.Builder, r *analyze.Report) {
	var charts strings.Builder
	for _, p := range r.Platforms {
		var xs, ys []string
		for i, v := range p.Spark {
			if v != nil {
				xs = append(xs, fmt.Sprint(i+1))
				ys = append(ys, fmt.Sprintf("%.1f", 100**v))
			}
		}
		if len(ys) < 2 {
			continue
		}
		fmt.Fprintf(&charts, "```mermaid\nxychart-beta\n    title \"%s\"\n    x-axis \"batch bucket, oldest first\" [%s]\n    y-axis \"pass rate (%%)\" 0 --> 100\n    line [%s]\n```\n\n",
			mermaidText(p.Platform), strings.Join(xs, ", "), strings.Join(ys, ", "))
	}
	if charts.Len() == 0 {
		return
	}
	fmt.Fprintf(b, "<details>\n<summary>Pass rate per batch, charts (%d buckets of consecutive batches)</summary>\n\n%s</details>\n\n", len(r.Platforms[0].Spark), charts.String())
}

// mermaidText keeps of s what a Mermaid string may hold safely: letters,
// digits and . _ - : ( ) / + and spaces; anything else becomes _.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._-:()/+ ", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// MDCategories writes the failure categories per platform.
func MDCategories(b *strings.Builder, r *analyze.Report) {
	if len(r.Categories) == 0 {
		b.WriteString("No failure records in the window.\n\n")
		return
	}
	var rows [][]string
	for _, c := range r.Categories {
		name := MD(c.Category)
		if !c.Known {
			name += " (unknown)"
		}
		rows = append(rows, []string{MD(c.Platform), name, c.Kind, fmt.Sprint(c.Count), pct(c.Share)})
	}
	mdTable(b, []string{"Platform", "Category", "Kind", "Count", "Share of platform's failures"}, "", rows)
}

// MDInsights writes the insights: regressions and incidents as alert
// blocks, the weakest platform in a sentence, skip advice and capability
// gaps as tables, each with its evidence.
func MDInsights(b *strings.Builder, r *analyze.Report) {
	if len(r.Insights) == 0 {
		b.WriteString("No insight: nothing in the data clears the bar of evidence.\n\n")
		return
	}
	by := map[string][]analyze.Insight{}
	for _, in := range r.Insights {
		by[in.Kind] = append(by[in.Kind], in)
	}
	for _, in := range by[analyze.KindRegression] {
		b.WriteString(mdAlert("WARNING", "**Regression on "+MD(in.Platform)+":** "+MD(in.Evidence)))
	}
	for _, in := range by[analyze.KindIncident] {
		b.WriteString(mdAlert("CAUTION", "**Runner incidents on "+MD(in.Platform)+":** "+MD(in.Evidence)))
	}
	for _, in := range by[analyze.KindWeakest] {
		b.WriteString("**Weakest platform:** " + MD(in.Evidence) + "\n\n")
	}
	if ins := by[analyze.KindSkip]; len(ins) > 0 {
		b.WriteString("**Skip advice:**\n\n")
		var rows [][]string
		for _, in := range ins {
			rate, interval := "–", "–"
			if in.Rate != nil {
				rate = pct(*in.Rate)
			}
			if in.CILow != nil && in.CIHigh != nil {
				interval = ci(*in.CILow, *in.CIHigh)
			}
			q, mins := "–", "–"
			if in.Q != nil {
				q = fmt.Sprintf("%.2g", *in.Q)
			}
			if in.MinutesPerWeek != nil {
				mins = fmt.Sprintf("%.0f", *in.MinutesPerWeek)
			}
			rows = append(rows, []string{MD(in.Ecosystem), MD(in.Platform), rate, interval, fmt.Sprintf("%d (%d)", in.N, in.Batches), q, mins})
		}
		mdTable(b, []string{"Ecosystem", "Platform", "Failure rate", "95% CI", "Tests (batches)", "q", "Minutes a week saved"}, "", rows)
	}
	if ins := by[analyze.KindGap]; len(ins) > 0 {
		b.WriteString("**Capability gaps** (recipes that fail on the platform only for this cause, ranked):\n\n")
		var rows [][]string
		for _, in := range ins {
			cause := MD(in.Category)
			if len(in.BlockedBy) > 0 {
				cause += ", blocked by " + MDCode(strings.Join(in.BlockedBy, ", "))
			}
			rows = append(rows, []string{MD(in.Platform), cause, fmt.Sprint(in.Recipes), fmt.Sprint(in.FailingRecipes)})
		}
		mdTable(b, []string{"Platform", "Only cause", "Recipes it would unlock", "Failing recipes there"}, "", rows)
	}
	if ins := by[analyze.KindGapClosed]; len(ins) > 0 {
		b.WriteString("**Capability gaps closed:**\n\n")
		var rows [][]string
		for _, in := range ins {
			unlocked, retested := "–", "–"
			if in.Unlocked != nil {
				unlocked = fmt.Sprint(*in.Unlocked)
			}
			if in.Retested != nil {
				retested = fmt.Sprint(*in.Retested)
			}
			rows = append(rows, []string{MD(in.Platform), MD(in.Category), fmt.Sprint(in.Recipes), retested, unlocked})
		}
		mdTable(b, []string{"Platform", "Cause", "Recipes it blocked", "Tested again", "Now pass"}, "", rows)
	}
	// Any kind not shown above, in a sentence.
	for _, in := range r.Insights {
		switch in.Kind {
		case analyze.KindRegression, analyze.KindIncident, analyze.KindWeakest, analyze.KindSkip, analyze.KindGap, analyze.KindGapClosed:
		default:
			fmt.Fprintf(b, "- **%s**: %s\n\n", kindTitle[in.Kind], MD(in.Evidence))
		}
	}
}

// ReportMarkdown writes the report as GitHub-flavoured markdown.
func ReportMarkdown(w io.Writer, r *analyze.Report) error {
	out, _ := reportMarkdown(r)
	_, err := io.WriteString(w, out)
	return err
}

// reportMarkdown renders the report; budget is where its budget line is.
func reportMarkdown(r *analyze.Report) (out string, budget [2]int) {
	var b strings.Builder
	fmt.Fprintf(&b, "# batchsli report\n\n")
	fmt.Fprintf(&b, "Data: %s. Window: %s, **%d batches** (%s to %s); platforms by %s; trend: %s.",
		MD(r.Data), MD(r.Window.Description), r.Batches, day(r.Window.First), day(r.Window.Last), r.By, MD(r.Window.TrendDescription))
	if r.EmptyRuns > 0 {
		fmt.Fprintf(&b, " %d more runs tested nothing and are not batches.", r.EmptyRuns)
	}
	b.WriteString("\n\n## Platform pass rates\n\n")
	if len(r.Platforms) == 0 {
		b.WriteString("No batch in the window tested anything.\n\n")
	} else {
		MDPlatforms(&b, r)
	}
	if lines := detectorLines(r); len(lines) > 0 {
		b.WriteString("### Regression detector (CUSUM within ecosystems)\n\n")
		var plain []string
		for _, l := range lines {
			if strings.Contains(l, ": alarm at ") && !strings.Contains(l, "not a regression") {
				b.WriteString(mdAlert("WARNING", MD(l)))
			} else {
				plain = append(plain, l)
			}
		}
		for _, l := range plain {
			b.WriteString("- " + MD(l) + "\n")
		}
		if len(plain) > 0 {
			b.WriteString("\n")
		}
	}
	MDRecipes(&b, r)
	b.WriteString("## Failure categories\n\n")
	MDCategories(&b, r)
	if len(r.Blockers) > 0 {
		b.WriteString("### Top blockers\n\n")
		var rows [][]string
		for _, bl := range r.Blockers {
			rows = append(rows, []string{MD(bl.Platform), MDCode(bl.Dependency), fmt.Sprint(bl.Recipes), fmt.Sprint(bl.Failures)})
		}
		mdTable(&b, []string{"Platform", "Blocked by", "Recipes", "Failures"}, "", rows)
	}
	b.WriteString("## Ecosystem x platform\n\nPass rate (n) per cell.\n\n")
	ecos, plats, cell := matrixAxes(r)
	var rows [][]string
	for _, e := range ecos {
		row := []string{MD(e)}
		for _, p := range plats {
			if c, ok := cell[[2]string{e, p}]; ok {
				row = append(row, fmt.Sprintf("%s (%d)", ratePtr(c.PassRate), c.N))
			} else {
				row = append(row, "–")
			}
		}
		rows = append(rows, row)
	}
	header := []string{"Ecosystem"}
	for _, p := range plats {
		header = append(header, MD(p))
	}
	if len(plats) > len(ecos) {
		// More platforms than ecosystems: platforms as rows, so the
		// table stays within GitHub's width.
		t := transpose(append([][]string{header}, rows...))
		t[0][0] = "Platform"
		header, rows = t[0], t[1:]
	}
	if len(plats) > 0 {
		mdTable(&b, header, "", rows)
	} else {
		b.WriteString("No batch in the window.\n\n")
	}
	b.WriteString("## Durations per batch\n\n")
	if len(r.Durations) == 0 {
		b.WriteString("No durations recorded in the window.\n\n")
	} else {
		rows = nil
		for _, d := range r.Durations {
			rows = append(rows, []string{MD(d.Platform), fmt.Sprint(d.Batches), secs(d.MedianSeconds), secs(d.P90Seconds), secs(d.PerRecipeMedian), secs(d.PerRecipeP90)})
		}
		mdTable(&b, []string{"Platform", "Batches", "Median", "p90", "Per recipe median", "Per recipe p90"}, "", rows)
	}
	b.WriteString("## macOS budget\n\n")
	budget[0] = b.Len()
	b.WriteString(mdBudget(r.Budget))
	budget[1] = b.Len()
	b.WriteString("\n\n")
	b.WriteString("## Insights\n\n")
	MDInsights(&b, r)
	fmt.Fprintf(&b, "- Weakest platform: %s\n- Regressions: %s\n- Skip advice: %s\n- Capability gaps: %s\n\n",
		MD(r.Verdicts.WeakestPlatform), MD(r.Verdicts.Regressions), MD(r.Verdicts.SkipAdvice), MD(r.Verdicts.CapabilityGaps))
	b.WriteString("## Notes\n\n")
	for i, n := range r.Notes {
		fmt.Fprintf(&b, "%d. %s\n", i+1, MD(n))
	}
	if len(r.Problems) > 0 {
		b.WriteString("\n## Problems\n\n")
		for _, p := range r.Problems {
			b.WriteString("- " + MDCode(p.String()) + "\n")
		}
		if r.MoreProblems > 0 {
			fmt.Fprintf(&b, "- and %d more\n", r.MoreProblems)
		}
	}
	return b.String(), budget
}

// MDRecipes writes the report's recipe histories: flakes and transitions
// per platform, the latest changes, flaky recipes and paired comparisons.
func MDRecipes(b *strings.Builder, r *analyze.Report) {
	rs := recipeSections(r, MD)
	if rs.note == "" && len(rs.tables) == 0 {
		return
	}
	b.WriteString("## Recipe histories\n\n")
	if rs.note != "" {
		b.WriteString(MD(rs.note) + "\n\n")
	}
	for _, t := range rs.tables {
		b.WriteString("### " + t.title + "\n\n")
		if len(t.rows) == 0 && t.empty != "" {
			b.WriteString(MD(t.empty) + ".\n\n")
		} else {
			h := make([]string, len(t.header))
			for i, c := range t.header {
				h[i] = strings.ToLower(c[:1]) + strings.ToLower(c[1:])
				h[i] = strings.ToUpper(h[i][:1]) + h[i][1:]
			}
			mdTable(b, h, "", t.rows)
		}
		if t.more > 0 {
			fmt.Fprintf(b, "And %d more (the JSON report lists them all).\n\n", t.more)
		}
		if t.after != "" {
			b.WriteString(MD(t.after) + "\n\n")
		}
	}
}
